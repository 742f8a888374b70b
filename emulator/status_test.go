package emulator

import (
	"net/http"
	"testing"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// v2StatusNotFound is X's answer to v2 STATUS for media that needed no
// processing (xdevplatform/xurl#18, 2025-03-14, a tweet_image).
const v2StatusNotFound = `{"errors":[{"message":"BadRequest: Not found"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`

// TestV2StatusWithoutProcessing: v2 STATUS of finalized media that needed no
// processing (chunked or one-shot image, subtitles) answers 400 "BadRequest:
// Not found"; media that is processed (video) still has its status; v1.1
// keeps its 404 code 34.
func TestV2StatusWithoutProcessing(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{ProcessingTime: 0}})
	png := mediagen.PNG(64, 48, 3)
	srt := []byte("1\n00:00:00,000 --> 00:00:01,000\nhello\n")

	chunkedID, fin := e.v2Upload(png, "image/png", "tweet_image", 1<<10)
	if fin.status != http.StatusOK || fin.data(t)["processing_info"] != nil {
		t.Fatalf("finalize of an image = %d %s, want 200 without processing_info", fin.status, fin.body)
	}
	one := e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", png)
	if one.status != http.StatusOK {
		t.Fatalf("one-shot = %d %s", one.status, one.body)
	}
	subID, sub := e.v2Upload(srt, "text/srt", "subtitles", 1<<10)
	if sub.status != http.StatusOK {
		t.Fatalf("finalize of subtitles = %d %s", sub.status, sub.body)
	}
	for name, id := range map[string]string{"chunked image": chunkedID, "one-shot image": str(one.data(t)["id"]), "subtitles": subID} {
		a := e.get("/2/media/upload?command=STATUS&media_id=" + id)
		if a.status != http.StatusBadRequest || string(a.body) != v2StatusNotFound {
			t.Errorf("STATUS of %s = %d %s\nwant 400 %s", name, a.status, a.body, v2StatusNotFound)
		}
		// It is a real request to the STATUS budget.
		if a.header.Get("x-rate-limit-limit") != "1000" {
			t.Errorf("STATUS of %s: x-rate-limit-limit %q, want 1000", name, a.header.Get("x-rate-limit-limit"))
		}
	}

	vid, fin := e.v2Upload(mediagen.MP4(64<<10, 1), "video/mp4", "tweet_video", 32<<10)
	if fin.data(t)["processing_info"] == nil {
		t.Fatalf("finalize of a video has no processing_info: %s", fin.body)
	}
	if a := e.get("/2/media/upload?command=STATUS&media_id=" + vid); a.status != http.StatusOK {
		t.Errorf("STATUS of a video = %d %s, want 200", a.status, a.body)
	}

	v11ID, _ := e.v11Chunked(png, "image/png", "tweet_image", 1<<10)
	if a := e.get("/1.1/media/upload.json?command=STATUS&media_id=" + v11ID); a.status != http.StatusNotFound || a.code(t) != 34 {
		t.Errorf("v1.1 STATUS of an image = %d %s, want 404 code 34", a.status, a.body)
	}
}
