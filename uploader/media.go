package uploader

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
)

// Media categories X knows (API.md §1.7).
const (
	CategoryTweetImage   = "tweet_image"
	CategoryTweetGIF     = "tweet_gif"
	CategoryTweetVideo   = "tweet_video"
	CategoryAmplifyVideo = "amplify_video"
	CategoryDMImage      = "dm_image"
	CategoryDMGIF        = "dm_gif"
	CategoryDMVideo      = "dm_video"
	CategorySubtitles    = "subtitles"
)

// Limits X enforces at upload (API.md §1.7). "MB" in X's documentation is
// MiB: its own error text says "Max size is 15728640B".
const (
	MaxImageSize     = 5 << 20
	MaxGIFSize       = 15 << 20
	MaxVideoSize     = 512 << 20
	MaxSubtitlesSize = 5 << 20 // undocumented; assumed as for images (API.md §1.7)
	MaxSegments      = 1000    // segment_index 0..999
	MaxAltTextLen    = 1000    // characters
	MaxOwners        = 100     // additional_owners
	// MaxChunkV2 is the largest APPEND segment X's v2 edge accepts (5 MiB gets 413).
	MaxChunkV2 = 4 << 20
	// MaxChunkV11 is v1.1's documented APPEND limit ("must be <= 5 MB").
	MaxChunkV11 = 5 << 20
	// MaxSimpleUpload is the largest one-shot upload: an image.
	MaxSimpleUpload = MaxImageSize
)

// MaxChunkSize is the largest APPEND segment of an API version (MaxChunkV2
// for anything but v1.1).
func MaxChunkSize(version string) int64 {
	if version == V11 {
		return MaxChunkV11
	}
	return MaxChunkV2
}

// Categories returns the media categories X knows, in a stable order.
func Categories() []string {
	return []string{CategoryTweetImage, CategoryTweetGIF, CategoryTweetVideo, CategoryAmplifyVideo,
		CategoryDMImage, CategoryDMGIF, CategoryDMVideo, CategorySubtitles}
}

type categoryRule struct {
	maxSize int64
	types   map[string]bool
}

var (
	imageTypes = map[string]bool{
		"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
		"image/bmp": true, "image/tiff": true,
	}
	gifTypes      = map[string]bool{"image/gif": true}
	videoTypes    = map[string]bool{"video/mp4": true, "video/quicktime": true, "video/webm": true, "video/mp2t": true}
	subtitleTypes = map[string]bool{"text/srt": true, "text/vtt": true}

	categories = map[string]categoryRule{
		CategoryTweetImage:   {MaxImageSize, imageTypes},
		CategoryDMImage:      {MaxImageSize, imageTypes},
		CategoryTweetGIF:     {MaxGIFSize, gifTypes},
		CategoryDMGIF:        {MaxGIFSize, gifTypes},
		CategoryTweetVideo:   {MaxVideoSize, videoTypes},
		CategoryDMVideo:      {MaxVideoSize, videoTypes},
		CategoryAmplifyVideo: {MaxVideoSize, videoTypes},
		CategorySubtitles:    {MaxSubtitlesSize, subtitleTypes},
	}
)

// altTextV11 are the categories v1.1 accepts alt text for.
var altTextV11 = map[string]bool{CategoryTweetImage: true, CategoryDMImage: true, CategoryTweetGIF: true, CategoryDMGIF: true}

// detectedTypes maps what mimetype reports to the media_type X accepts
// (the v2 initialize enum, API.md §1.7). Anything else is unsupported.
// HEIC, AVIF and 3GP are deliberately absent: mimetype files them under
// video/mp4's family, but X refuses them.
var detectedTypes = map[string]string{
	"image/jpeg":           "image/jpeg",
	"image/png":            "image/png",
	"image/apng":           "image/png",
	"image/gif":            "image/gif",
	"image/webp":           "image/webp",
	"image/bmp":            "image/bmp",
	"image/tiff":           "image/tiff",
	"video/mp4":            "video/mp4",
	"video/x-m4v":          "video/mp4",
	"video/quicktime":      "video/quicktime",
	"video/webm":           "video/webm",
	"video/mp2t":           "video/mp2t",
	"application/x-subrip": "text/srt",
	"text/vtt":             "text/vtt",
}

// sniffLen is how much of a file Detect reads.
const sniffLen = 4096

// Detect returns the MIME type of the media in r (size bytes) from its
// content, normalised to the media_type values X accepts (video/x-m4v →
// video/mp4, image/apng → image/png, application/x-subrip → text/srt). It
// reads at most the first 4 KiB. An empty file is ErrEmpty; a type X does not
// take (HEIC, AVI, PDF, …) is ErrUnsupported naming the detected type.
func Detect(r io.ReaderAt, size int64) (string, error) {
	base, err := Sniff(r, size)
	if err != nil {
		return "", err
	}
	if t, ok := detectedTypes[base]; ok {
		return t, nil
	}
	return "", fmt.Errorf("detect type: %w: content is %s, which X does not accept", ErrUnsupported, base)
}

// Sniff returns the MIME type of the content of r (size bytes) as detected,
// whether X takes it or not (image/heic, application/pdf, …), from at most
// its first 4 KiB: for a caller that can convert what X refuses. An empty
// file is ErrEmpty; a read failure wraps ErrSource.
func Sniff(r io.ReaderAt, size int64) (string, error) {
	if size <= 0 {
		return "", fmt.Errorf("detect type: %w", ErrEmpty)
	}
	head := make([]byte, min(size, sniffLen))
	n, err := r.ReadAt(head, 0)
	if n < len(head) && err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("detect type: %w: %w", ErrSource, err)
	}
	head = head[:n]
	if n == 0 {
		return "", fmt.Errorf("detect type: %w", ErrEmpty)
	}
	if isMPEGTS(head) {
		return "video/mp2t", nil
	}
	base, _, _ := strings.Cut(mimetype.Detect(head).String(), ";")
	return base, nil
}

// isMPEGTS recognises an MPEG transport stream (mimetype has no detector):
// 0x47 sync bytes every 188 bytes.
func isMPEGTS(b []byte) bool {
	const packet = 188
	if len(b) < 3*packet {
		return false
	}
	for i := 0; i < len(b) && i < 8*packet; i += packet {
		if b[i] != 0x47 {
			return false
		}
	}
	return true
}

// AutoCategory returns the category X assumes for a MIME type when none is
// given ("depending on the content type", API.md §1.7): tweet_gif for GIFs,
// tweet_image for other images, tweet_video for videos, subtitles for
// SRT/WebVTT.
func AutoCategory(mediaType string) (string, error) {
	switch {
	case gifTypes[mediaType]:
		return CategoryTweetGIF, nil
	case imageTypes[mediaType]:
		return CategoryTweetImage, nil
	case videoTypes[mediaType]:
		return CategoryTweetVideo, nil
	case subtitleTypes[mediaType]:
		return CategorySubtitles, nil
	}
	return "", fmt.Errorf("%w: media type %q", ErrUnsupported, mediaType)
}

// Prepare resolves m's category and checks, before any request, everything
// that would make the upload fail: empty file, media type X does not accept,
// type and category that do not fit, size over the category's limit, a
// tweet_video or dm_video whose Duration is over MaxVideoDuration, more
// than 1000 segments at the configured chunk size, alt text over 1000
// characters, more than 100 or non-numeric additional owners, invalid
// client options. The error is permanent (see [IsPermanent]) and says why.
// On v1.1, which takes alt text only for images and GIFs, the returned
// Media has AltText cleared for other categories.
func (c *Client) Prepare(m Media) (Media, error) {
	if c.optErr != nil {
		return m, c.optErr
	}
	if m.Size <= 0 {
		return m, fmt.Errorf("prepare %s: %w", m.Name, ErrEmpty)
	}
	if t, ok := detectedTypes[m.Type]; ok {
		m.Type = t
	}
	if m.Type == "image/pjpeg" {
		m.Type = "image/jpeg"
	}
	cat := strings.ToLower(strings.TrimSpace(m.Category))
	if cat == "" || cat == "auto" {
		var err error
		if cat, err = AutoCategory(m.Type); err != nil {
			return m, fmt.Errorf("prepare %s: %w", m.Name, err)
		}
	}
	rule, ok := categories[cat]
	if !ok {
		return m, fmt.Errorf("prepare %s: %w: unknown media category %q", m.Name, ErrUnsupported, m.Category)
	}
	if !rule.types[m.Type] {
		return m, fmt.Errorf("prepare %s: %w: media type %q cannot be uploaded as %s", m.Name, ErrUnsupported, m.Type, cat)
	}
	m.Category = cat
	if m.Size > rule.maxSize {
		return m, fmt.Errorf("prepare %s: %w: %d bytes, the limit for %s is %d", m.Name, ErrTooLarge, m.Size, cat, rule.maxSize)
	}
	if m.Duration > MaxVideoDuration && durationLimited[cat] {
		shown := m.Duration.Round(time.Millisecond)
		if shown <= MaxVideoDuration {
			shown = m.Duration // rounding must not hide by how much it is over
		}
		return m, fmt.Errorf("prepare %s: %w: video is %v long, over the %v limit for %s (X would fail it after the whole upload); amplify_video takes longer videos if the account may post them",
			m.Name, ErrUnsupported, shown, MaxVideoDuration, cat)
	}
	if !c.simple(m) {
		if _, err := planChunks(m.Size, c.opts.ChunkSize, c.maxChunk()); err != nil {
			return m, fmt.Errorf("prepare %s: %w", m.Name, err)
		}
	}
	if m.AltText != "" && c.opts.Version == V11 && !altTextV11[m.Category] {
		// v1.1 metadata/create takes alt text "only for images and GIFs".
		c.log.Debug().Str("path", m.Name).Str("category", m.Category).Msg("alt text dropped: v1.1 takes it only for images and GIFs")
		m.AltText = ""
	}
	if n := utf8.RuneCountInString(m.AltText); n > MaxAltTextLen {
		return m, fmt.Errorf("prepare %s: %w: alt text has %d characters, the limit is %d", m.Name, ErrInvalid, n, MaxAltTextLen)
	}
	if !utf8.ValidString(m.AltText) {
		return m, fmt.Errorf("prepare %s: %w: alt text is not valid UTF-8", m.Name, ErrInvalid)
	}
	if len(m.AdditionalOwners) > MaxOwners {
		return m, fmt.Errorf("prepare %s: %w: %d additional owners, the limit is %d", m.Name, ErrInvalid, len(m.AdditionalOwners), MaxOwners)
	}
	for _, o := range m.AdditionalOwners {
		if _, err := strconv.ParseUint(o, 10, 64); err != nil {
			return m, fmt.Errorf("prepare %s: %w: additional owner %q is not a numeric user id", m.Name, ErrInvalid, o)
		}
	}
	return m, nil
}

// PrepareFile is [Client.Prepare] for media whose bytes are at hand in r:
// it first reads a video's duration ([ProbeDuration]), so that a video too
// long for its category is refused as well. A duration that cannot be read
// is not an error (X decides); the reason is logged at debug level.
func (c *Client) PrepareFile(r io.ReaderAt, m Media) (Media, error) {
	m, err := ProbeDuration(r, m)
	if err != nil {
		c.log.Debug().Str("path", m.Name).Err(err).Msg("video duration unknown; not checked before upload")
	}
	return c.Prepare(m)
}

// simple reports whether m goes through the one-shot upload: an image (not
// a GIF, which needs the async path) up to SimpleUploadMax, not shared
// (one-shot has no shared flag).
func (c *Client) simple(m Media) bool {
	return (m.Category == CategoryTweetImage || m.Category == CategoryDMImage) &&
		m.Type != "image/gif" && !m.Shared && m.Size <= c.opts.SimpleUploadMax
}
