// Command client uploads one file to an X media API (the emulator) and
// prints one JSON line: mode, bytes, seconds, MB/s and the process's peak
// RSS (VmHWM). Modes:
//
//	mediasync  the uploader package with its defaults (4 MiB segments, 3 in flight, streamed)
//	seq        a plain client: 1 MiB segments read into memory, one at a time (tweepy, PLhery v2, xurl)
//	par3       the same with 3 segments in flight (PLhery v1 maxConcurrentUploads default)
//
// With -gen it instead writes a generated MP4 of -size bytes to -file.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dghubble/oauth1"
	"golang.org/x/sync/errgroup"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/uploader"
)

func main() {
	mode := flag.String("mode", "mediasync", "mediasync | seq | par3")
	base := flag.String("url", "", "emulator base URL")
	file := flag.String("file", "", "media file")
	gen := flag.Bool("gen", false, "write a generated MP4 of -size bytes to -file and exit")
	size := flag.Int64("size", 256<<20, "size for -gen")
	parallelism := flag.Int("parallelism", 0, "mediasync: APPENDs in flight (0: the uploader's default)")
	flag.Parse()
	if err := run(*mode, *base, *file, *gen, *size, *parallelism); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(mode, base, file string, gen bool, size int64, parallelism int) error {
	if gen {
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if err := mediagen.WriteMP4(f, size, 1); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	creds := emulator.DemoCredentials()
	cfg := oauth1.NewConfig(creds.ConsumerKey, creds.ConsumerSecret)
	tok := oauth1.NewToken(creds.AccessToken, creds.AccessTokenSecret)
	ctx := context.Background()

	start := time.Now()
	var id string
	switch mode {
	case "mediasync":
		// As cmd wires it: the oauth1 transport over uploader.NewTransport.
		hc := cfg.Client(context.WithValue(ctx, oauth1.HTTPClient, &http.Client{Transport: uploader.NewTransport()}), tok)
		c := uploader.New(hc, uploader.Options{BaseURL: base, ChunkParallelism: parallelism})
		typ, err := uploader.Detect(f, fi.Size())
		if err != nil {
			return err
		}
		res, err := c.Upload(ctx, f, uploader.Media{Name: fi.Name(), Size: fi.Size(), Type: typ}, nil)
		if err != nil {
			return err
		}
		id = res.MediaIDString
	case "seq", "par3":
		par := 1
		if mode == "par3" {
			par = 3
		}
		b := &baseline{hc: cfg.Client(ctx, tok), base: base, chunk: 1 << 20, par: par}
		if id, err = b.upload(ctx, f, fi.Size(), fi.Name()); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"mode": mode, "media_id": id, "bytes": fi.Size(), "seconds": secs,
		"mbps": float64(fi.Size()) / 1e6 / secs, "peak_rss_mib": peakRSS() / (1 << 20),
	})
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024
		}
	}
	return -1
}

// baseline is the common SDK upload loop against the v2 endpoints: each
// segment read into memory and posted as multipart, par at a time, no
// retries, then FINALIZE and STATUS polling.
type baseline struct {
	hc    *http.Client
	base  string
	chunk int64
	par   int
}

func (b *baseline) upload(ctx context.Context, f io.ReaderAt, size int64, name string) (string, error) {
	body, _ := json.Marshal(map[string]any{"media_type": "video/mp4", "total_bytes": size, "media_category": "tweet_video"})
	var init struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := b.call(ctx, http.MethodPost, "/2/media/upload/initialize", "application/json", body, &init); err != nil {
		return "", err
	}
	id := init.Data.ID
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.par)
	for i, off := 0, int64(0); off < size; i, off = i+1, off+b.chunk {
		g.Go(func() error {
			chunk := make([]byte, min(b.chunk, size-off))
			if _, err := f.ReadAt(chunk, off); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			_ = mw.WriteField("segment_index", strconv.Itoa(i))
			fw, _ := mw.CreateFormFile("media", name)
			_, _ = fw.Write(chunk)
			_ = mw.Close()
			return b.call(gctx, http.MethodPost, "/2/media/upload/"+id+"/append", mw.FormDataContentType(), buf.Bytes(), nil)
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	var fin struct {
		Data struct {
			ProcessingInfo *struct {
				State          string `json:"state"`
				CheckAfterSecs int    `json:"check_after_secs"`
			} `json:"processing_info"`
		} `json:"data"`
	}
	if err := b.call(ctx, http.MethodPost, "/2/media/upload/"+id+"/finalize", "", nil, &fin); err != nil {
		return "", err
	}
	for fin.Data.ProcessingInfo != nil && fin.Data.ProcessingInfo.State != "succeeded" {
		if fin.Data.ProcessingInfo.State == "failed" {
			return "", errors.New("processing failed")
		}
		time.Sleep(time.Duration(max(fin.Data.ProcessingInfo.CheckAfterSecs, 1)) * time.Second)
		if err := b.call(ctx, http.MethodGet, "/2/media/upload?command=STATUS&media_id="+id, "", nil, &fin); err != nil {
			return "", err
		}
	}
	return id, nil
}

func (b *baseline) call(ctx context.Context, method, path, ct string, body []byte, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: http %d: %s", method, path, resp.StatusCode, data)
	}
	if v != nil {
		return json.Unmarshal(data, v)
	}
	return nil
}
