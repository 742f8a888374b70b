package uploader

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"testing/synctest"
	"unicode/utf8"
)

var oddNames = []string{
	"plain.jpg", "tab\there.jpg", "bell\a\x01\x1f.jpg", "cr\rlf\n.jpg", `quote"back\slash.jpg`, "semi;colon%20.jpg",
	"dir/sub/x.jpg", "bad\xff\xfeutf8.jpg", strings.Repeat("long", 300) + ".jpeg", strings.Repeat("x", 200) + "." + strings.Repeat("e", 40),
	"émoji 📷.jpg", "\x7f", "", " ", "..", "\x00",
}

// The filename we send is parsed back by mime/multipart as a non-empty,
// printable ASCII name of at most 100 bytes, keeping a short extension,
// whatever the file is called; the form stays well-formed.
func TestPartFileName(t *testing.T) {
	for _, name := range oddNames {
		form, err := newMultipartForm([]field{{"segment_index", "0"}}, "media", name, "image/jpeg")
		if err != nil {
			t.Fatalf("newMultipartForm(%q): %v", name, err)
		}
		body := append(append(bytes.Clone(form.prefix), "payload"...), form.suffix...)
		_, params, err := mime.ParseMediaType(form.contentType)
		if err != nil {
			t.Fatalf("content type %q: %v", form.contentType, err)
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		var got string
		parts := 0
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: multipart: %v", name, err)
			}
			parts++
			if p.FormName() == "media" {
				got = p.FileName()
				if b, _ := io.ReadAll(p); string(b) != "payload" {
					t.Errorf("%q: media part holds %q", name, b)
				}
			}
		}
		sent := partFileName(name)
		if parts != 2 || got == "" || got != sent || len(got) > maxPartFileName || !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			t.Errorf("name %q: parsed filename %q (sent %q) in %d parts; want a non-empty printable name of at most %d bytes", name, got, sent, parts, maxPartFileName)
		}
		if ext := ".jpeg"; strings.HasSuffix(name, ext) && !strings.HasSuffix(got, ext) {
			t.Errorf("name %q: filename %q lost its extension", name, got)
		}
	}
}

// The same names against the fake server, which refuses a media part whose
// filename does not parse, as X's edge would refuse a malformed body.
func TestOddNamesUpload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeX(t)
		c := f.newClient(Options{ChunkSize: 1000})
		data := append([]byte("\x89PNG\r\n\x1a\n"), testBytes(2500, 17)...)
		for _, name := range oddNames {
			for _, typ := range []string{"image/png", "video/mp4"} { // one-shot and chunked
				if _, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: name, Size: int64(len(data)), Type: typ}, nil); err != nil {
					t.Errorf("Upload(%q, %s) = %v", name, typ, err)
				}
			}
		}
	})
}
