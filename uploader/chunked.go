package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
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
// not finished, honouring check_after_secs (capped at MaxServerWait). When
// the server leaves it out (tweepy PR #2050, API.md §1.5 b), polls start
// at defaultCheckAfter and back off to maxDefaultCheckAfter. It stops with
// ErrProcessingFailed on state failed or on any error object (the server
// may leave state in_progress with an error, API.md §1.5 a), and with
// ErrProcessingTimeout after ProcessingTimeout.
func (c *Client) awaitProcessing(ctx context.Context, m Media, info mediaInfo) (mediaInfo, error) {
	deadline := time.Now().Add(c.opts.ProcessingTimeout)
	op := "FINALIZE"
	guess := defaultCheckAfter
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
		var wait time.Duration
		if pi.CheckAfterSecs != nil && *pi.CheckAfterSecs > 0 {
			wait = time.Duration(min(*pi.CheckAfterSecs, int(MaxServerWait/time.Second))) * time.Second
		} else {
			wait, guess = guess, min(2*guess, maxDefaultCheckAfter)
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
			if noStatus(err) && !needsProcessing(m.Category) {
				// STATUS has nothing to say about media that needed no
				// processing: the FINALIZE answer is the result.
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

// noStatus reports whether err is X's STATUS answer for media without a
// processing status, finalized or not: v1.1 404 code 34 "Sorry, that page
// does not exist" (API.md §1.5 c: PLhery #336, tweepy #1851), v2 400
// "BadRequest: Not found" for an image ({"errors":[{"message":"BadRequest:
// Not found"}],"title":"Invalid Request",…}, xdevplatform/xurl#18,
// 2025-03-14; sferik/x-ruby#44, 2025-04-15). (Also a plain 404.) The text is
// the only mark X gives; it is matched here and nowhere else.
func noStatus(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "STATUS" {
		return false
	}
	switch ae.StatusCode {
	case http.StatusNotFound:
		return true
	case http.StatusBadRequest:
		return strings.EqualFold(strings.TrimSpace(ae.Message), "BadRequest: Not found")
	}
	return false
}

// saysFinalized reports whether a refusal of FINALIZE or APPEND says that
// the media id is finalized already: then an earlier FINALIZE went through.
// X does not document the answer to a repeated FINALIZE or to APPEND after
// FINALIZE, and no recording of one is known; the emulator answers v2 400
// `The media_id "…" is already finalized.` and v1.1 `Media id … is already
// finalized.` (emulator/v2.go, v11.go), and that text is what is matched.
// It is a guess at X's wording: if X words it otherwise, this reports
// false, and finalizedBefore starts over with a warning.
func saysFinalized(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || (ae.Op != "FINALIZE" && ae.Op != "APPEND") || ae.StatusCode/100 != 4 {
		return false
	}
	return strings.Contains(strings.ToLower(ae.Message), "already finalized")
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
		var err error
		if p, err = c.initialize(ctx, m, max(c.opts.ChunkSize, (m.Size+MaxSegments-1)/MaxSegments)); err != nil {
			return Result{}, err
		}
		report(p)
	} else {
		p = *resume
		p.Acked = slices.Clone(p.Acked)
		p.Category = m.Category
		c.log.Debug().Str("path", m.Name).Str("media_id", p.MediaID).Int("acked", len(p.Acked)).Msg("resuming upload")
	}

	var info mediaInfo
	var err error
	if !p.Finalized {
		resumed := resume != nil
		if err = c.appendAdaptive(ctx, r, m, &p, &resumed, report); err != nil {
			if !resumed || !startOver(ctx, err, true) {
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

// initialize sends INIT and returns the progress of the new upload session,
// whose segments will be chunk bytes.
func (c *Client) initialize(ctx context.Context, m Media, chunk int64) (Progress, error) {
	info, err := c.proto.initialize(ctx, m)
	if err != nil {
		return Progress{}, err
	}
	c.log.Debug().Str("path", m.Name).Str("media_id", info.id()).Int64("bytes", m.Size).Msg("upload initialized")
	return Progress{MediaID: info.id(), MediaKey: info.MediaKey, ChunkSize: chunk, ExpiresAt: info.expiresAt, Category: m.Category}, nil
}

// MinEdgeChunk is the smallest segment size the client falls back to when
// X's edge refuses segments with 413 (1 MiB worked where 5 MiB did not:
// trypostit/trypost PR #31, 2026-05-12, API.md §4.2).
const MinEdgeChunk = 1 << 20

// appendAdaptive sends the segments of p not yet acknowledged. X's edge
// refuses a request body over a limit it does not publish with 413 and an
// empty body (seen at 5 MiB, API.md §4.2); such a refusal of a segment
// halves the segment size for this upload, down to MinEdgeChunk, and the
// upload carries on: on the same media id when no segment was acknowledged
// yet, else on a fresh one (INIT; *resumed becomes false), since the
// acknowledged segments have the old size. Each new plan is reported, so
// that Resume continues at the new size. A 413 for a segment that cannot
// be made smaller is a permanent error that says so.
func (c *Client) appendAdaptive(ctx context.Context, r io.ReaderAt, m Media, p *Progress, resumed *bool, report func(Progress)) error {
	for {
		segs, err := planChunks(m.Size, p.ChunkSize, c.maxChunk())
		if err != nil {
			return fmt.Errorf("upload %s: %w", m.Name, err)
		}
		if err := verifySegments(ctx, r, m, segs); err != nil {
			return err
		}
		err = c.appendAll(ctx, r, m, p, segs, report)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Op != "APPEND" || ae.StatusCode != http.StatusRequestEntityTooLarge {
			return err
		}
		refused := segs[0].n // the largest segment
		next := max(refused/2, MinEdgeChunk, (m.Size+MaxSegments-1)/MaxSegments)
		if next >= refused {
			return fmt.Errorf("upload %s: X refused a segment of %d bytes as too large (HTTP 413), and segments cannot be smaller than %d bytes: %w",
				m.Name, refused, max(MinEdgeChunk, (m.Size+MaxSegments-1)/MaxSegments), err)
		}
		c.log.Warn().Str("path", m.Name).Int64("bytes", refused).Int64("chunk_size", next).
			Msg("X refused a segment as too large (HTTP 413); uploading in smaller segments")
		if len(p.Acked) == 0 {
			p.ChunkSize = next
		} else {
			fresh, err := c.initialize(ctx, m, next)
			if err != nil {
				return err
			}
			*p, *resumed = fresh, false
		}
		report(*p)
	}
}

// finalizedBefore asks STATUS about the media id of p, whose FINALIZE went
// through before a restart (p.Finalized, refused nil) or may have (refused
// is the FINALIZE or APPEND refusal of the resumed upload). It returns the
// media when the server holds it finalized:
//   - STATUS shows it (processing_info, a size, an image or video object;
//     after our own FINALIZE, any answer);
//   - for a category X does not process, STATUS has no status to give
//     ([noStatus]: v1.1 404 code 34, v2 400 "BadRequest: Not found"), which
//     X answers whether or not the media was finalized: that proves
//     finalization only after our own FINALIZE succeeded, or when the
//     refusal itself says the id is already finalized ([saysFinalized]).
//
// Otherwise, when STATUS says the id is unknown or expired (another 400,
// 404 or 410) or answers without finalized media, it returns refused, which
// makes [Client.chunked] start over: a media id is recorded only when it is
// proven finalized (no lost file). A finalized id is not uploaded again when
// STATUS shows it (media X processes) or the refusal says "already
// finalized". For media X does not process, that last proof rests on the
// refusal's wording, which X does not document: if X words it otherwise,
// the file is uploaded a second time (the first media id stays unused and
// expires). That start is logged as a warning. Any other STATUS failure
// (network, 5xx, account refusal, a wait) is returned as is and the
// progress stays valid for another Resume.
func (c *Client) finalizedBefore(ctx context.Context, m Media, p Progress, refused error) (mediaInfo, error) {
	known := mediaInfo{ID: p.MediaID, MediaKey: p.MediaKey, expiresAt: p.ExpiresAt}
	info, err := c.proto.status(ctx, p.MediaID)
	switch {
	case err == nil && (refused == nil || info.finalized()):
		info.merge(known)
		c.logFinalizedBefore(m, p, refused)
		return info, nil
	case err == nil:
		return mediaInfo{}, refused
	case noStatus(err) && !needsProcessing(m.Category) && (refused == nil || saysFinalized(refused)):
		c.logFinalizedBefore(m, p, refused)
		return known, nil
	}
	if refused != nil && startOver(ctx, err, true) {
		if noStatus(err) && !needsProcessing(m.Category) {
			// Neither STATUS nor the refusal's text could tell: this id may
			// have been finalized by a FINALIZE whose answer was lost.
			c.log.Warn().Str("path", m.Name).Str("media_id", p.MediaID).Str("op", refusedOp(refused)).AnErr("refusal", refused).
				Msg("cannot tell whether an earlier FINALIZE of this media id went through; starting over, which leaves a second media at X if it did")
		}
		return mediaInfo{}, refused
	}
	return mediaInfo{}, err
}

// refusedOp is the op of the refusal err ("FINALIZE", "APPEND"), "" if none.
func refusedOp(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Op
	}
	return ""
}

func (c *Client) logFinalizedBefore(m Media, p Progress, refused error) {
	if refused != nil {
		c.log.Info().Str("path", m.Name).Str("media_id", p.MediaID).Msg("media already finalized before the restart, not uploading again")
	}
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
