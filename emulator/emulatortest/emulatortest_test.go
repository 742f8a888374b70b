package emulatortest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// upload runs a v2 chunked upload of data with hc and returns the media id.
func upload(t *testing.T, hc *http.Client, base string, data []byte, mediaType, category string) string {
	t.Helper()
	do := func(req *http.Request) map[string]any {
		t.Helper()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
		}
		var m struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m.Data
	}
	req, _ := http.NewRequest("POST", base+"/2/media/upload/initialize",
		strings.NewReader(fmt.Sprintf(`{"media_type":%q,"total_bytes":%d,"media_category":%q}`, mediaType, len(data), category)))
	req.Header.Set("Content-Type", "application/json")
	id := do(req)["id"].(string)
	for i := 0; i*(1<<20) < len(data); i++ {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("segment_index", fmt.Sprint(i))
		w, _ := mw.CreateFormFile("media", "blob")
		w.Write(data[i<<20 : min(len(data), (i+1)<<20)])
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/2/media/upload/"+id+"/append", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		do(req)
	}
	req, _ = http.NewRequest("POST", base+"/2/media/upload/"+id+"/finalize", nil)
	do(req)
	return id
}

func hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestNewServerClients(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %s, want loopback", srv.URL)
	}
	jpeg := mediagen.JPEG(64, 48, 1)
	tests := []struct {
		name string
		hc   *http.Client
	}{
		{"oauth1", srv.OAuth1Client()},
		{"bearer", srv.BearerClient()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := upload(t, tt.hc, srv.URL, jpeg, "image/jpeg", "tweet_image")
			info, ok := srv.MediaByID(id)
			if !ok || info.SHA256 != hash(jpeg) || info.Width != 64 || info.Height != 48 {
				t.Errorf("MediaByID = %+v, %v", info, ok)
			}
		})
	}
	// A client with a wrong consumer secret is refused.
	bad := *srv
	bad.Creds.ConsumerSecret = "wrong"
	resp, err := bad.OAuth1Client().Get(srv.URL + "/2/users/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong consumer secret: status %d, want 401", resp.StatusCode)
	}
}

func TestInMemoryInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := emulatortest.NewInMemory(t, emulator.Options{Faults: emulator.Faults{ProcessingTime: 3 * time.Second}})
		mp4 := mediagen.MP4(1<<20+100, 2)
		hc := srv.InMemoryOAuth1Client()
		id := upload(t, hc, srv.URL, mp4, "video/mp4", "tweet_video")
		if info, _ := srv.MediaByID(id); info.State != "pending" {
			t.Errorf("state right after finalize = %s, want pending", info.State)
		}
		time.Sleep(3 * time.Second)
		if info, _ := srv.MediaByID(id); info.State != "succeeded" || info.SHA256 != hash(mp4) {
			t.Errorf("after 3s: %+v", info)
		}
		srv.SetFaults(emulator.Faults{DropRate: 1})
		if _, err := srv.InMemoryBearerClient().Get(srv.URL + "/2/users/me"); err == nil {
			t.Errorf("drop fault: no error")
		}
		srv.SetFaults(emulator.Faults{LoseAnswerRate: 1})
		before := len(srv.Media())
		resp, err := srv.InMemoryBearerClient().Post(srv.URL+"/2/media/upload/initialize", "application/json",
			strings.NewReader(`{"media_type":"video/mp4","total_bytes":10}`))
		if err == nil {
			resp.Body.Close()
			t.Errorf("lose-answer fault: got %d, want an error", resp.StatusCode)
		}
		if got := len(srv.Media()); got != before+1 {
			t.Errorf("lose-answer fault: %d media ids, want %d (the INIT is processed)", got, before+1)
		}
	})
}
