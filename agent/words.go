package agent

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/uploader"
)

// This file turns the uploader's refusals into the words a photographer acts on: what is wrong
// with the file, in human units, and what to do about it.

// categoryLimit is X's size limit for a category (0 when unknown).
func categoryLimit(category string) int64 {
	switch category {
	case uploader.CategoryTweetImage, uploader.CategoryDMImage:
		return uploader.MaxImageSize
	case uploader.CategoryTweetGIF, uploader.CategoryDMGIF:
		return uploader.MaxGIFSize
	case uploader.CategoryTweetVideo, uploader.CategoryDMVideo, uploader.CategoryAmplifyVideo:
		return uploader.MaxVideoSize
	case uploader.CategorySubtitles:
		return uploader.MaxSubtitlesSize
	}
	return 0
}

// limitName is how X's documentation states a limit ("5 MB": X's MB are MiB).
func limitName(limit int64) string {
	if limit%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", limit>>20)
	}
	return human.Bytes(limit)
}

// reasonText says why a file cannot be uploaded as it is, for its skipped entry and the log.
func reasonText(err error, m uploader.Media) string {
	switch {
	case errors.Is(err, uploader.ErrEmpty):
		return "the file is empty (0 bytes); it is looked at again once it has content"
	case errors.Is(err, uploader.ErrTooLarge):
		limit := categoryLimit(m.Category)
		if limit == 0 || m.Size <= limit {
			return err.Error() // more segments than X allows, or a refusal by X itself
		}
		what, advice := "files", ""
		switch m.Category {
		case uploader.CategoryTweetImage, uploader.CategoryDMImage:
			what = "photo"
			advice = "export it smaller (Lightroom: Limit File Size To 5000 K) or let mediasync fit it (fit: auto)"
		case uploader.CategoryTweetGIF, uploader.CategoryDMGIF:
			what = "animated GIF"
			advice = "make it shorter or smaller, or export it as an MP4 video"
		case uploader.CategoryTweetVideo, uploader.CategoryDMVideo, uploader.CategoryAmplifyVideo:
			what = "video"
			advice = "trim it or export it at a lower bit rate"
		case uploader.CategorySubtitles:
			what = "subtitles"
		}
		s := fmt.Sprintf("%s is over X's %s %s limit (%s)", human.Bytes(m.Size), limitName(limit), what, m.Category)
		if advice != "" {
			s += "; " + advice
		}
		return s
	case errors.Is(err, uploader.ErrUnsupported):
		msg := strings.TrimPrefix(err.Error(), "detect type: ")
		low := strings.ToLower(msg)
		switch {
		case strings.Contains(low, "heic") || strings.Contains(low, "heif"):
			return msg + "; export it as JPEG (iPhone: Settings › Camera › Formats › Most Compatible, or share/export as JPEG)"
		case strings.Contains(low, "avif"):
			return msg + "; export it as JPEG or PNG"
		}
		return msg
	}
	return err.Error()
}
