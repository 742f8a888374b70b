package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// protocol is one API version's requests. Each method makes exactly one
// logical request through Client.do (so retries, budgets and the stall
// watchdog apply to all of them).
type protocol interface {
	simple(ctx context.Context, r io.ReaderAt, m Media) (mediaInfo, error)
	initialize(ctx context.Context, m Media) (mediaInfo, error)
	appendSegment(ctx context.Context, id string, r io.ReaderAt, m Media, s segment) error
	finalize(ctx context.Context, id string) (mediaInfo, error)
	status(ctx context.Context, id string) (mediaInfo, error)
	setAltText(ctx context.Context, id, text string) error
	verify(ctx context.Context) (string, error)
}

// mediaInfo is the media object of both versions: v1.1 answers it flat with
// media_id_string, v2 inside "data" with id.
type mediaInfo struct {
	ID               string          `json:"id"`
	MediaIDString    string          `json:"media_id_string"`
	MediaKey         string          `json:"media_key"`
	Size             int64           `json:"size"`
	ExpiresAfterSecs *int64          `json:"expires_after_secs"`
	ProcessingInfo   *processingInfo `json:"processing_info"`
	Image            *struct {
		ImageType string `json:"image_type"`
		W         int    `json:"w"`
		H         int    `json:"h"`
	} `json:"image"`
	Video *struct {
		VideoType string `json:"video_type"`
	} `json:"video"`

	expiresAt time.Time // answer time + expires_after_secs
}

type processingInfo struct {
	State           string       `json:"state"`
	CheckAfterSecs  *int         `json:"check_after_secs"`
	ProgressPercent int          `json:"progress_percent"`
	Error           *errorObject `json:"error"`
}

// finalized reports whether a STATUS answer shows finalized media: it names
// the id and carries processing_info or what only finalized media has (its
// size, an image or video object).
func (mi *mediaInfo) finalized() bool {
	return mi.id() != "" && (mi.ProcessingInfo != nil || mi.Size > 0 || mi.Image != nil || mi.Video != nil)
}

func (mi *mediaInfo) id() string {
	if mi.ID != "" {
		return mi.ID
	}
	return mi.MediaIDString
}

// stamp sets expiresAt from an answer received at now.
func (mi *mediaInfo) stamp(now time.Time) {
	if mi.ExpiresAfterSecs != nil {
		mi.expiresAt = now.Add(time.Duration(*mi.ExpiresAfterSecs) * time.Second)
	}
}

// merge fills what a later answer (STATUS) leaves out from an earlier one.
func (mi *mediaInfo) merge(prev mediaInfo) {
	if mi.id() == "" {
		mi.ID, mi.MediaIDString = prev.ID, prev.MediaIDString
	}
	if mi.MediaKey == "" {
		mi.MediaKey = prev.MediaKey
	}
	if mi.Size == 0 {
		mi.Size = prev.Size
	}
	if mi.Image == nil {
		mi.Image = prev.Image
	}
	if mi.Video == nil {
		mi.Video = prev.Video
	}
	if mi.expiresAt.IsZero() {
		mi.expiresAt = prev.expiresAt
	}
}

// awaitProcessing polls STATUS while info carries processing_info that is
// not finished, honouring check_after_secs (defaultCheckAfter when absent).
// It stops with ErrProcessingFailed on state failed or on any error object
// (the server may leave state in_progress with an error), and with
// ErrProcessingTimeout after ProcessingTimeout.
func (c *Client) awaitProcessing(ctx context.Context, m Media, info mediaInfo) (mediaInfo, error) {
	deadline := time.Now().Add(c.opts.ProcessingTimeout)
	op := "FINALIZE"
	for {
		pi := info.ProcessingInfo
		if pi == nil {
			return info, nil
		}
		if pi.Error != nil || pi.State == "failed" {
			ae := &APIError{Op: op, StatusCode: http.StatusOK, Permanent: true, err: ErrProcessingFailed}
			if pi.Error != nil {
				ae.Code, ae.Name, ae.Message = pi.Error.Code, pi.Error.Name, pi.Error.Message
			}
			return info, ae
		}
		if pi.State == "succeeded" {
			return info, nil
		}
		wait := defaultCheckAfter
		if pi.CheckAfterSecs != nil && *pi.CheckAfterSecs > 0 {
			wait = time.Duration(*pi.CheckAfterSecs) * time.Second
		}
		left := time.Until(deadline)
		if left <= 0 {
			return info, fmt.Errorf("await processing of %s: %w after %v (state %q, %d%%)",
				info.id(), ErrProcessingTimeout, c.opts.ProcessingTimeout, pi.State, pi.ProgressPercent)
		}
		c.log.Debug().Str("media_id", info.id()).Str("state", pi.State).Int("progress", pi.ProgressPercent).Dur("retry_in", min(wait, left)).Msg("media processing")
		if err := sleep(ctx, min(wait, left)); err != nil {
			return info, err
		}
		next, err := c.proto.status(ctx, info.id())
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && !needsProcessing(m.Category) {
				// STATUS answers 404 for media that needed no processing
				// (API.md §1.5 c): the FINALIZE answer is the result.
				info.ProcessingInfo = nil
				return info, nil
			}
			return info, fmt.Errorf("await processing of %s: %w", info.id(), err)
		}
		next.merge(info)
		info = next
		op = "STATUS"
	}
}

// needsProcessing reports whether X processes media of this category
// asynchronously (video and GIF, API.md §1.4).
func needsProcessing(category string) bool {
	switch category {
	case CategoryTweetImage, CategoryDMImage, CategorySubtitles:
		return false
	}
	return true
}

// chunked runs INIT → parallel APPEND → FINALIZE → STATUS, or continues from
// resume. When the media id turns out to be unknown or expired, it starts
// over once from INIT.
func (c *Client) chunked(ctx context.Context, r io.ReaderAt, m Media, resume *Progress, onProgress func(Progress)) (Result, error) {
	res, err := c.chunkedOnce(ctx, r, m, resume, onProgress)
	if err == nil || !startOver(ctx, err, resume != nil) {
		return res, err
	}
	c.log.Info().Str("path", m.Name).Err(err).Msg("media id no longer usable, starting over")
	return c.chunkedOnce(ctx, r, m, nil, onProgress)
}

// startOver reports whether err says the server no longer knows the upload
// session (expired or unknown media id), so a fresh INIT can succeed: a
// 400/404/410 refusal of an APPEND, or, when resuming, of the FINALIZE or
// STATUS of a session from before (a refused FINALIZE only after STATUS
// did not show the media finalized, see finalizedBefore). (A fresh upload's
// FINALIZE refused is a verdict on the bytes: uploading them again would
// not help.)
func startOver(ctx context.Context, err error, resumed bool) bool {
	if ctx.Err() != nil || IsAuth(err) || errors.Is(err, ErrProcessingFailed) || errors.Is(err, ErrTooLarge) {
		return false
	}
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Permanent {
		return false
	}
	if ae.Op != "APPEND" && !(resumed && (ae.Op == "FINALIZE" || ae.Op == "STATUS")) {
		return false
	}
	switch ae.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

func (c *Client) chunkedOnce(ctx context.Context, r io.ReaderAt, m Media, resume *Progress, onProgress func(Progress)) (Result, error) {
	report := func(p Progress) {
		if onProgress != nil {
			p.Acked = slices.Clone(p.Acked)
			onProgress(p)
		}
	}
	var p Progress
	if resume == nil {
		chunk := max(c.opts.ChunkSize, (m.Size+MaxSegments-1)/MaxSegments)
		info, err := c.proto.initialize(ctx, m)
		if err != nil {
			return Result{}, err
		}
		p = Progress{MediaID: info.id(), MediaKey: info.MediaKey, ChunkSize: chunk, ExpiresAt: info.expiresAt, Category: m.Category}
		c.log.Debug().Str("path", m.Name).Str("media_id", p.MediaID).Int64("bytes", m.Size).Msg("upload initialized")
		report(p)
	} else {
		p = *resume
		p.Acked = slices.Clone(p.Acked)
		p.Category = m.Category
		c.log.Debug().Str("path", m.Name).Str("media_id", p.MediaID).Int("acked", len(p.Acked)).Msg("resuming upload")
	}
	segs, err := planChunks(m.Size, p.ChunkSize, c.maxChunk())
	if err != nil {
		return Result{}, fmt.Errorf("upload %s: %w", m.Name, err)
	}

	var info mediaInfo
	if !p.Finalized {
		if err = c.appendAll(ctx, r, m, &p, segs, report); err != nil {
			if resume == nil || !startOver(ctx, err, true) {
				return Result{}, err
			}
			// The previous run may have sent every segment and FINALIZE, and
			// died before its last acknowledgements were saved: then the
			// re-sent segment is refused ("already finalized"), and starting
			// over would make a second media of the same file. STATUS decides.
			info, err = c.finalizedBefore(ctx, m, p, err)
		} else {
			info, err = c.proto.finalize(ctx, p.MediaID)
			if err != nil && startOver(ctx, err, true) {
				// Likewise when an earlier FINALIZE of this media id went
				// through: the one in flight when the process died, or, in
				// this run, one whose answer was lost (a cut connection, the
				// stall watchdog) and was retried: this one is refused. A
				// genuine refusal stays one (STATUS shows no finalized media).
				info, err = c.finalizedBefore(ctx, m, p, err)
			}
		}
		if err != nil {
			return Result{}, err
		}
		// FINALIZE may leave out what INIT told (media_key on v1.1 without
		// a category, expires_after_secs): keep INIT's then.
		info.merge(mediaInfo{ID: p.MediaID, MediaKey: p.MediaKey, expiresAt: p.ExpiresAt})
		p.Finalized, p.MediaKey, p.ExpiresAt = true, info.MediaKey, info.expiresAt
		report(p)
	} else {
		info, err = c.finalizedBefore(ctx, m, p, nil)
		if err != nil {
			return Result{}, err
		}
	}
	return c.finish(ctx, m, info)
}

// codeNoSuchPage is X's error code 34, "Sorry, that page does not exist":
// STATUS's answer for media that needed no processing (API.md §1.5 c).
const codeNoSuchPage = 34

// finalizedBefore asks STATUS about the media id of p, whose FINALIZE went
// through before a restart (p.Finalized) or may have (refused is the
// FINALIZE error of the resumed upload). It returns the media as STATUS
// describes it when the server holds it finalized: an answer with
// processing_info or a size, image or video object, or, for a category X
// does not process, 404 code 34 ("no status": such media has none, API.md
// §1.5 c). After our own FINALIZE (refused nil) any STATUS answer is taken.
// When STATUS says the id is unknown or expired (another 400, 404 or 410) or
// answers without finalized media, it returns an error that makes
// [Client.chunked] start over; any other STATUS failure (network, 5xx,
// auth) is returned as is and the progress stays valid for another Resume.
func (c *Client) finalizedBefore(ctx context.Context, m Media, p Progress, refused error) (mediaInfo, error) {
	known := mediaInfo{ID: p.MediaID, MediaKey: p.MediaKey, expiresAt: p.ExpiresAt}
	info, err := c.proto.status(ctx, p.MediaID)
	var ae *APIError
	switch {
	case err == nil && (refused == nil || info.finalized()):
		// (After our own FINALIZE succeeded, any answer is the media's.)
		info.merge(known)
		if refused != nil {
			c.log.Info().Str("path", m.Name).Str("media_id", p.MediaID).Msg("media already finalized before the restart, not uploading again")
		}
		return info, nil
	case err == nil:
		return mediaInfo{}, refused
	case refused == nil && errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Code == codeNoSuchPage && !needsProcessing(m.Category):
		// Only after a FINALIZE that went through: v1.1 answers 404 code 34 for any media without a
		// status, finalized or not, so after a refused FINALIZE it proves nothing.
		if refused != nil {
			c.log.Info().Str("path", m.Name).Str("media_id", p.MediaID).Msg("media already finalized before the restart, not uploading again")
		}
		return known, nil
	}
	if refused != nil && startOver(ctx, err, true) {
		return mediaInfo{}, refused
	}
	return mediaInfo{}, err
}

// appendAll sends every segment not yet acknowledged, ChunkParallelism at
// a time, each streamed from r. It returns after all succeeded or on the
// first failure (the others are cancelled). Each acknowledgement is
// recorded in p and reported, one report at a time.
func (c *Client) appendAll(ctx context.Context, r io.ReaderAt, m Media, p *Progress, segs []segment, report func(Progress)) error {
	done := make(map[int]bool, len(p.Acked))
	for _, i := range p.Acked {
		done[i] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.ChunkParallelism)
	var mu sync.Mutex
	for _, s := range segs {
		if done[s.index] {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := c.proto.appendSegment(gctx, p.MediaID, r, m, s); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("append segment %d of %s: %w", s.index, m.Name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			p.Acked = append(p.Acked, s.index)
			slices.Sort(p.Acked)
			report(*p)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}
