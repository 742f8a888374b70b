package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/uploader"
)

// TestSimpleUploadMaxZero: simple_upload_max: 0 means no one-shot uploads (every upload chunked and
// resumable), as config.example.yaml says, although the uploader reads a zero option as its default.
func TestSimpleUploadMaxZero(t *testing.T) {
	for _, tc := range []struct {
		value    string
		oneShots int
	}{{"0", 0}, {"1MiB", 1}} {
		t.Run(tc.value, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{})
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "c.yaml")
			yaml := "api:\n  base_url: " + srv.URL + "\nupload:\n  simple_upload_max: " + tc.value + "\n"
			if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("MEDIASYNC_CONSUMER_KEY", srv.Creds.ConsumerKey)
			t.Setenv("MEDIASYNC_CONSUMER_SECRET", srv.Creds.ConsumerSecret)
			t.Setenv("MEDIASYNC_ACCESS_TOKEN", srv.Creds.AccessToken)
			t.Setenv("MEDIASYNC_ACCESS_TOKEN_SECRET", srv.Creds.AccessTokenSecret)
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			up, err := newUploader(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			data := mediagen.JPEG(100, 100, 1)
			m := uploader.Media{Name: "a.jpg", Size: int64(len(data)), Type: "image/jpeg"}
			if m, err = up.Prepare(m); err != nil {
				t.Fatal(err)
			}
			if _, err := up.Upload(t.Context(), bytes.NewReader(data), m, nil); err != nil {
				t.Fatal(err)
			}
			if got := srv.Stats().Count("POST /2/media/upload", 0); got != tc.oneShots {
				t.Errorf("simple_upload_max %s: %d one-shot uploads, want %d", tc.value, got, tc.oneShots)
			}
		})
	}
}
