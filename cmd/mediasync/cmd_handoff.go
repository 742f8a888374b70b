package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/web"
)

// Hand-off (issue 13.3): `upload`, `retry`, `explain` and `status` on a folder that a running
// agent (`mediasync run`) holds ask that agent, through the control socket in the folder's
// manifest directory (web.Dial), instead of fighting it for the manifest's lock. With no agent
// (web.ErrNoAgent: no socket, or nothing listens) they do the work themselves, as before.

// probeTimeout bounds the question "does an agent answer on this socket?": a hung agent must not
// hang the command.
const probeTimeout = 10 * time.Second

// agents finds the running agents of folders, asking each control socket once.
type agents struct {
	clients map[string]*web.Client // by socket path; nil: no agent there
	errs    map[string]error       // by socket path: something answers that cannot be used
}

func newAgents() *agents {
	return &agents{clients: map[string]*web.Client{}, errs: map[string]error{}}
}

// of returns the client of the agent running for the folder whose manifest is at manifestPath, or
// nil when none runs. It returns an error when something answers on the socket that this command
// cannot use (an agent of another API version): the folder's manifest is then held, and doing the
// work here would fail on its lock.
func (g *agents) of(ctx context.Context, manifestPath string) (*web.Client, error) {
	sock := socketPath(manifestPath)
	if c, ok := g.clients[sock]; ok {
		return c, g.errs[sock]
	}
	c := web.Dial(sock)
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := c.Status(pctx, web.Query{Limit: 1})
	switch {
	case errors.Is(err, web.ErrNoAgent):
		c.Close()
		c, err = nil, nil
	case err != nil:
		err = fmt.Errorf("the agent at %s: %w", sock, err)
	}
	g.clients[sock], g.errs[sock] = c, err
	return c, err
}

// running returns the clients of the running agents found so far, by socket path.
func (g *agents) running() []*web.Client {
	paths := make([]string, 0, len(g.clients))
	for p, c := range g.clients {
		if c != nil && g.errs[p] == nil {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	out := make([]*web.Client, len(paths))
	for i, p := range paths {
		out[i] = g.clients[p]
	}
	return out
}

// close closes the clients' idle connections.
func (g *agents) close() {
	for _, c := range g.clients {
		if c != nil {
			c.Close()
		}
	}
}

// folderHolding returns the configured folder that holds path (agent.InnermostFolder), if any and
// path's name can be a key of its manifest.
func folderHolding(folders []config.Folder, path string) (config.Folder, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return config.Folder{}, false
	}
	i, ok := agent.InnermostFolder(folderPaths(folders), abs)
	if !ok {
		return config.Folder{}, false
	}
	if _, ok := relTo(folders[i].Path, abs); !ok {
		return config.Folder{}, false
	}
	return folders[i], true
}

// noAgentAnyMore explains an agent that stopped between the probe and the request.
func noAgentAnyMore(err error) error {
	if errors.Is(err, web.ErrNoAgent) {
		return fmt.Errorf("the running agent stopped meanwhile; run the command again: %w", err)
	}
	return err
}

// fromWeb turns a running agent's explanation back into the agent's own form, so that `explain`
// prints the same words whether the agent answered or it read the manifests itself. The agent's
// verdict travels in Detail; an answer without one (a refused folder) keeps the API's word.
func fromWeb(x web.Explanation) agent.Explanation {
	ex := agent.Explanation{Path: x.Path, Folder: x.Folder, Rel: x.Rel, Verdict: agent.Verdict(x.Detail),
		Why: x.Reason, Fix: x.Fix, Entry: x.Entry}
	if ex.Verdict == "" {
		ex.Verdict = agent.Verdict(x.Verdict)
	}
	if t := x.Progress; t != nil {
		ex.Transfer = &agent.Transfer{Folder: x.Folder, Rel: t.Rel, Phase: agent.Phase(t.Phase), Bytes: t.Bytes, Total: t.Total,
			Segments: t.Segments, SegmentsTotal: t.SegmentsTotal, Started: t.Started}
	}
	return ex
}

// remoteAgent is the running agent a file is handed to, or why it cannot be.
type remoteAgent struct {
	c   *web.Client
	err error
}

// handOff notes, for each path in a folder that a running agent holds, that agent (u.remote),
// and returns the other paths: those this command uploads itself.
func (u *fileUploader) handOff(ctx context.Context, live *agents, paths []string) (local []string) {
	u.remote = map[string]remoteAgent{}
	for _, p := range paths {
		f, ok := folderHolding(u.cfg.Folders, p)
		if !ok {
			local = append(local, p)
			continue
		}
		c, err := live.of(ctx, f.Manifest)
		if c == nil && err == nil {
			local = append(local, p)
			continue
		}
		u.remote[p] = remoteAgent{c, err}
	}
	return local
}

// uploadVia asks the running agent to upload path now and prints its progress as it arrives.
func (u *fileUploader) uploadVia(ctx context.Context, r remoteAgent, path string) (uploadLine, error) {
	if r.err != nil {
		return uploadLine{}, r.err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return uploadLine{}, err
	}
	bar := u.app.newBar(path)
	defer bar.finish()
	res, err := r.c.Upload(ctx, abs, web.UploadOptions{Category: u.category, AltText: u.altText, OnProgress: bar.set})
	if err != nil {
		return uploadLine{}, noAgentAnyMore(err)
	}
	line := lineOf(path, res.Entry)
	if loc, lerr := u.app.locate(path); lerr == nil {
		line.Manifest = loc.manifest
	}
	return line, nil
}

// explainOne explains path: by the running agent of its folder when one answers (it knows what is
// queued and in flight), else from the configuration and the manifests. Explaining never fails:
// an agent that cannot answer is left out.
func explainOne(ctx context.Context, live *agents, opts agent.ExplainOptions, path string) agent.Explanation {
	if abs, err := filepath.Abs(path); err == nil {
		paths := make([]string, len(opts.Folders))
		for i, f := range opts.Folders {
			paths[i] = f.Path
		}
		i, ok := agent.InnermostFolder(paths, abs)
		if ok {
			_, ok = relTo(paths[i], abs) // a name no manifest can record: no agent knows more than Explain
		}
		if ok {
			m := opts.Folders[i].Manifest
			if m == "" {
				m = manifest.DefaultPath(paths[i])
			}
			if c, err := live.of(ctx, m); c != nil && err == nil {
				if x, err := c.Explain(ctx, abs); err == nil {
					return fromWeb(x)
				}
			}
		}
	}
	return agent.Explain(opts, path)
}
