package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// onlyReader hides a reader's length, so that the request is sent chunked.
type onlyReader struct{ io.Reader }

// TestEdgeBodyLimit: with edge_body_limit set, a request body over it gets
// 413 with an empty body and none of the API's headers, before
// authentication or any handler (the segment is not stored, the request
// spends no budget), whether its size is declared or counted as read; a
// body within the limit is served; the admin API is not limited.
func TestEdgeBodyLimit(t *testing.T) {
	e := newEnv(t, Options{})
	if code, body := e.admin("POST", "/_emulator/faults", `{"edge_body_limit":"2KiB"}`); code != 200 {
		t.Fatalf("POST faults = %d %s", code, body)
	}
	png := mediagen.PNG(24, 24, 9) // two halves of it fit under the limit
	init := e.v2Init("image/png", len(png), "tweet_image")
	id := str(init.data(t)["id"])

	segmentAt := func(i int, data []byte) (*bytes.Buffer, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("segment_index", fmt.Sprint(i))
		w, _ := mw.CreateFormFile("media", "blob")
		w.Write(data)
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	segment := func(data []byte) (*bytes.Buffer, string) { return segmentAt(0, data) }
	checkRefused := func(name string, a answer) {
		t.Helper()
		if a.status != http.StatusRequestEntityTooLarge || len(a.body) != 0 {
			t.Errorf("%s = %d %q, want 413 with an empty body", name, a.status, a.body)
		}
		for _, h := range []string{"Content-Type", "x-rate-limit-limit", "x-transaction-id", "api-version"} {
			if v := a.header.Get(h); v != "" {
				t.Errorf("%s: edge 413 carries %s: %s", name, h, v)
			}
		}
	}
	big := bytes.Repeat([]byte{7}, 3<<10)

	// Declared length over the limit, signed: 413.
	body, ct := segment(big)
	checkRefused("signed APPEND of 3 KiB", e.do(e.newReq("POST", "/2/media/upload/"+id+"/append", body, ct)))
	// Unsigned: still 413, not 401 — the edge comes first.
	body, ct = segment(big)
	resp, err := http.DefaultClient.Do(e.newReq("POST", "/2/media/upload/"+id+"/append", body, ct))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkRefused("unsigned APPEND of 3 KiB", answer{status: resp.StatusCode, header: resp.Header, body: b})
	// Length unknown (chunked): counted as read, same answer.
	body, ct = segment(big)
	req := e.newReq("POST", "/2/media/upload/"+id+"/append", onlyReader{body}, ct)
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("request has a length %d; want it sent chunked", req.ContentLength)
	}
	checkRefused("chunked APPEND of 3 KiB", e.do(req))
	// v1.1 too.
	checkRefused("v1.1 simple upload", e.postMultipart("/1.1/media/upload.json", nil, "media", big))

	if mi, _ := e.s.MediaByID(id); mi.Segments != 0 {
		t.Errorf("media holds %d segments after refused APPENDs, want 0", mi.Segments)
	}
	if n := e.s.Stats().Count("POST /2/media/upload/{id}/append", 413); n != 3 {
		t.Errorf("stats count %d APPENDs answered 413, want 3", n)
	}

	// Within the limit: served, chunked or not.
	half := len(png) / 2
	body, ct = segment(png[:half])
	if a := e.do(e.newReq("POST", "/2/media/upload/"+id+"/append", onlyReader{body}, ct)); a.status != 200 {
		t.Errorf("chunked APPEND of %d bytes = %d %s, want 200", half, a.status, a.body)
	}
	// The second half as segment 1.
	body, ct = segmentAt(1, png[half:])
	if a := e.do(e.newReq("POST", "/2/media/upload/"+id+"/append", body, ct)); a.status != 200 {
		t.Errorf("APPEND of the rest = %d %s", a.status, a.body)
	}
	if a := e.do(e.newReq("POST", "/2/media/upload/"+id+"/finalize", nil, "")); a.status != 200 {
		t.Errorf("finalize = %d %s", a.status, a.body)
	}

	// The admin API is not X's edge: a body over the limit still lifts it.
	lift := `{"edge_body_limit":0}` + string(bytes.Repeat([]byte(" "), 3<<10))
	if code, body := e.admin("POST", "/_emulator/faults", lift); code != 200 {
		t.Fatalf("POST faults with a 3 KiB body = %d %s", code, body)
	}
	body, ct = segment(big)
	if a := e.do(e.newReq("POST", "/2/media/upload/"+id+"/append", body, ct)); a.status == http.StatusRequestEntityTooLarge {
		t.Errorf("with the limit lifted, APPEND is still 413")
	}
}

func TestEdgeBodyLimitJSONAndValidate(t *testing.T) {
	for in, want := range map[string]int64{`{"edge_body_limit":5242880}`: 5 << 20, `{"edge_body_limit":"5MiB"}`: 5 << 20, `{}`: 0} {
		var f Faults
		if err := json.Unmarshal([]byte(in), &f); err != nil || f.EdgeBodyLimit != want {
			t.Errorf("%s = %d (%v), want %d", in, f.EdgeBodyLimit, err, want)
		}
		out, _ := json.Marshal(f)
		var back Faults
		if err := json.Unmarshal(out, &back); err != nil || back != f {
			t.Errorf("round trip of %s: %s = %+v (%v)", in, out, back, err)
		}
	}
	var f Faults
	if err := json.Unmarshal([]byte(`{"edge_body_limit":"lots"}`), &f); err == nil {
		t.Errorf("edge_body_limit \"lots\" accepted")
	}
	if err := (Faults{EdgeBodyLimit: -1}).Validate(); err == nil {
		t.Errorf("negative edge_body_limit accepted")
	}
}
