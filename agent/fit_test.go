package agent_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/image/tiff"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/fit"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

func tiffImage(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := tiff.Encode(&b, img, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TestSimFit: with fit: auto, a photo over X's 5 MB limit and a TIFF are uploaded as fitted JPEGs
// (the originals untouched, the manifest recording both, X holding exactly the recorded derivative);
// a small JPEG goes as it is; a HEIC is skipped with what to do. With fit: none the large photo is
// skipped with a reason that says fit: auto would resize it.
func TestSimFit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{folders: 2, configure: func(o *agent.Options) {
			o.Folders[0].Fit = agent.FitPolicy{Auto: true, MaxEdge: 1000}
		}})
		big := mediagen.PNG(1200, 1200, 1) // 5.8 MB of noise: over 5 MiB
		if len(big) <= uploader.MaxImageSize {
			t.Fatalf("the test photo is %d bytes, want over %d", len(big), uploader.MaxImageSize)
		}
		tif := tiffImage(300, 200)
		small := mediagen.JPEG(300, 200, 2)
		s.drop(0, "big.png", big)
		s.drop(0, "scan.tif", tif)
		s.drop(0, "small.jpg", small)
		s.drop(0, "iphone.heic", fakeHEIC())
		s.drop(1, "big.png", big)
		time.Sleep(time.Minute)
		synctest.Wait()

		for rel, orig := range map[string][]byte{"big.png": big, "scan.tif": tif} {
			e := s.entry(0, rel)
			if e.State != manifest.Uploaded || e.Fitted == nil {
				t.Errorf("%s: %s fitted=%+v; want uploaded as a fitted copy", rel, e.State, e.Fitted)
				continue
			}
			if e.SHA256 != sum(orig) || e.Size != int64(len(orig)) {
				t.Errorf("%s: the entry's size and sha256 are not the original's", rel)
			}
			mi, ok := s.srv.MediaByID(e.MediaIDString)
			if !ok || mi.SHA256 != e.Fitted.SHA256 || mi.Size != e.Fitted.Bytes || mi.MediaType != "image/jpeg" {
				t.Errorf("%s: X holds %+v; the manifest records the derivative %+v", rel, mi, e.Fitted)
			}
			if max(e.Fitted.Width, e.Fitted.Height) > 1000 || e.Fitted.Bytes > uploader.MaxImageSize {
				t.Errorf("%s: derivative %+v over the limits", rel, e.Fitted)
			}
			if e.MediaType != "image/jpeg" || e.MediaCategory != "tweet_image" {
				t.Errorf("%s: recorded as %s %s", rel, e.MediaType, e.MediaCategory)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(s.dirs[0], "big.png")); !bytes.Equal(got, big) {
			t.Error("the original was changed")
		}
		if e := s.entry(0, "small.jpg"); e.State != manifest.Uploaded || e.Fitted != nil {
			t.Errorf("small.jpg: %s fitted=%+v; want uploaded as it is", e.State, e.Fitted)
		}
		if e := s.entry(0, "iphone.heic"); e.State != manifest.Skipped || !strings.Contains(e.Reason, "JPEG") {
			t.Errorf("iphone.heic: %s %q; want skipped, saying to export a JPEG", e.State, e.Reason)
		}
		if e := s.entry(1, "big.png"); e.State != manifest.Skipped || !strings.Contains(e.Reason, "fit: auto") {
			t.Errorf("big.png with fit: none: %s %q; want skipped, saying fit: auto would fit it", e.State, e.Reason)
		}
		if ex := s.ag.Explain(filepath.Join(s.dirs[0], "big.png")); !strings.Contains(ex.Why, "fitted copy") {
			t.Errorf("Explain(big.png) = %q; want it to say a fitted copy was uploaded", ex.Why)
		}
	})
}

// TestFitBurst is issue 13's "done when": a burst of photographers' exports — JPEGs of 17 to 45 MB,
// a TIFF and small files — ends with every photo uploaded, fitted where needed, and X holding
// exactly the bytes the manifest records. By default it runs one 6.7 MB JPEG; MEDIASYNC_FIT_BURST=1
// runs the full sizes (minutes on two cores).
func TestFitBurst(t *testing.T) {
	sizes := [][2]int{{2400, 1800}} // ~6.7 MB of noise at quality 98 (about 1.6 bytes a pixel)
	if os.Getenv("MEDIASYNC_FIT_BURST") != "" {
		sizes = [][2]int{{3800, 2900}, {4800, 3600}, {6000, 4600}} // ~17, ~27 and ~43 MB
	}
	h := newHarness(t, emulator.Faults{})
	opts := h.options()
	opts.Folders[0].Fit = agent.FitPolicy{Auto: true}
	files := map[string][]byte{
		"scan.tif":  tiffImage(640, 480),
		"small.jpg": mediagen.JPEG(320, 240, 1),
		"small.png": mediagen.PNG(64, 64, 2),
	}
	for i, d := range sizes {
		files[fmt.Sprintf("export-%d.jpg", i)] = mediagen.NoiseJPEG(d[0], d[1], 98, int64(i))
	}
	start := time.Now()
	h.start(opts)
	for rel, data := range files {
		h.write(rel, data)
	}
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	m := h.waitFor(manifest.Uploaded, rels...)
	t.Logf("%d files uploaded in %v", len(files), time.Since(start).Round(time.Millisecond))
	for rel, data := range files {
		e := m.Files[rel]
		if e.SHA256 != sum(data) {
			t.Errorf("%s: the entry does not record the original's sha256", rel)
		}
		want := e.SHA256
		big := len(data) > uploader.MaxImageSize || strings.HasSuffix(rel, ".tif")
		if big != (e.Fitted != nil) {
			t.Errorf("%s (%d bytes): fitted = %+v", rel, len(data), e.Fitted)
		}
		if e.Fitted != nil {
			want = e.Fitted.SHA256
			t.Logf("%s: %s → %d×%d %s", rel, human.Bytes(int64(len(data))), e.Fitted.Width, e.Fitted.Height, human.Bytes(e.Fitted.Bytes))
		}
		if mi, ok := h.srv.MediaByID(e.MediaIDString); !ok || mi.SHA256 != want {
			t.Errorf("%s: X holds %q, the manifest records %q", rel, mi.SHA256, want)
		}
	}
}

// The fit package's default limit is X's photo limit, which the uploader owns (the agent passes
// it explicitly; fit cannot import the uploader).
func TestFitDefaultIsXLimit(t *testing.T) {
	if fit.DefaultMaxBytes != uploader.MaxImageSize {
		t.Errorf("fit.DefaultMaxBytes = %d, uploader.MaxImageSize = %d", fit.DefaultMaxBytes, uploader.MaxImageSize)
	}
}
