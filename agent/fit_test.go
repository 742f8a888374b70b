package agent_test

import (
	"bytes"
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
