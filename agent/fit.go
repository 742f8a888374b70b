package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/fit"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// A photo over X's limit for photos, or in a type X does not show but mediasync can decode (TIFF,
// BMP), is uploaded as a derivative when its folder says fit: auto: a JPEG whose long edge and size
// fit (package fit), written to a temporary file beside the manifest and removed after the upload.
// The original is never touched; its entry keeps the original's size, mtime and sha256 and records
// the derivative's in Fitted. The derivative is deterministic, so an interrupted chunked upload of
// it resumes after a restart only when the new derivative has the recorded sha256.

// FitPolicy says whether and how a folder's photos are fitted to X.
type FitPolicy struct {
	Auto         bool // fit photos X would refuse or not show; false: upload as they are, or skip
	MaxEdge      int  // long edge of a derivative in pixels; 0 = 4096
	KeepMetadata bool // keep the EXIF block (GPS included); false strips all but the colour profile
}

// fitted is a derivative made for an upload.
type fitted struct {
	file   *os.File
	result fit.Result
}

func (d *fitted) close() {
	if d != nil && d.file != nil {
		name := d.file.Name()
		d.file.Close()
		os.Remove(name)
	}
}

// imageCategory reports whether a category (as configured or overridden) uploads still photos.
func imageCategory(c string) bool {
	switch c {
	case "", "auto", uploader.CategoryTweetImage, uploader.CategoryDMImage:
		return true
	}
	return false
}

// errNoFit wraps the reason a photo can neither be uploaded as it is nor fitted: the file is
// skipped with it.
type errNoFit struct{ reason string }

func (e errNoFit) Error() string { return e.reason }
func (e errNoFit) Unwrap() error { return uploader.ErrUnsupported }

// fitIfNeeded makes the derivative to upload instead of p's file when its folder fits photos and the
// photo needs it. It returns nil when the file goes as it is; an error that the file is to be
// skipped with (wrapping uploader.ErrUnsupported), or that reading it failed.
func (s *session) fitIfNeeded(ctx context.Context, p *plan, category string, log zerolog.Logger) (*fitted, error) {
	pol := p.j.f.Fit
	if !pol.Auto || !imageCategory(category) {
		return nil, nil
	}
	raw, err := uploader.Sniff(p.file, p.obs.Size)
	if err != nil {
		return nil, err
	}
	need, reason := fit.Needed(raw, p.obs.Size, uploader.MaxImageSize)
	if !need {
		if reason != "" {
			return nil, errNoFit{reason}
		}
		return nil, nil
	}
	dir := filepath.Dir(p.j.f.Manifest)
	tmp, err := os.CreateTemp(dir, fitTempPrefix+"*.jpg")
	if err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	d := &fitted{file: tmp}
	// One fit at a time: a 45-megapixel photo needs some 165 MiB while it is fitted.
	select {
	case s.a.fitting <- struct{}{}:
	case <-ctx.Done():
		d.close()
		return nil, ctx.Err()
	}
	log.Info().Str("why", reason).Msg("fitting the photo to X")
	res, err := fit.Fit(ctx, p.file, p.obs.Size, raw, tmp, fit.Options{MaxEdge: pol.MaxEdge, MaxBytes: uploader.MaxImageSize,
		KeepMetadata: pol.KeepMetadata})
	<-s.a.fitting
	if err != nil {
		d.close()
		if errors.Is(err, fit.ErrUndecodable) || errors.Is(err, fit.ErrCannotFit) {
			return nil, errNoFit{reason + "; " + err.Error()}
		}
		return nil, err
	}
	d.result = res
	log.Info().Int("width", res.Width).Int("height", res.Height).Str("bytes", human.Bytes(res.Bytes)).
		Int("quality", res.Quality).Msg("fitted: the derivative is uploaded, the original is untouched")
	return d, nil
}

// fitTempPrefix names the derivatives beside a manifest; a crash may leave one, removed at start.
const fitTempPrefix = ".fit-"

// removeFitLeftovers removes the derivatives a crash left beside f's manifest.
func removeFitLeftovers(f Folder) {
	dir := filepath.Dir(f.Manifest)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), fitTempPrefix) && strings.HasSuffix(e.Name(), ".jpg") && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// fittedEntry is the manifest's record of a derivative.
func fittedEntry(r fit.Result) *manifest.Fitted {
	return &manifest.Fitted{Width: r.Width, Height: r.Height, Bytes: r.Bytes, SHA256: r.SHA256}
}
