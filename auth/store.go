package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/internal/durable"
)

// FileVersion is the version of the token file's JSON shape.
const FileVersion = 1

// maxFileSize caps the token file read: a real one is under 2 KiB.
const maxFileSize = 64 << 10

// Token is one OAuth 2.0 grant as the token file holds it. Printing a Token (fmt, %v, %+v, %#v,
// zerolog's Object and Interface, encoding/json) never shows its access or refresh token.
type Token struct {
	ClientID     string    // the client the grant was issued to
	AccessToken  string    // sent as "Authorization: Bearer"
	RefreshToken string    // single use: every refresh returns a new one; "" without offline.access
	Scope        string    // space-separated, as the token endpoint answered
	Expiry       time.Time // of the access token
	Obtained     time.Time // when the access token was issued (Expiry - Obtained = its lifetime)
	LoggedIn     time.Time // when the grant was made by `auth login`
	Refreshes    int       // refreshes since the login
	// Invalid, when not "", says why the grant can no longer be used (the token endpoint refused
	// it); the tokens are then empty and only a new login helps.
	Invalid string
}

// tokenFile is the JSON shape of the file.
type tokenFile struct {
	Version      int       `json:"version"`
	ClientID     string    `json:"client_id"`
	TokenType    string    `json:"token_type"`
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Scope        string    `json:"scope,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Obtained     time.Time `json:"obtained,omitzero"`
	LoggedIn     time.Time `json:"logged_in,omitzero"`
	Refreshes    int       `json:"refreshes"`
	Invalid      string    `json:"invalid,omitempty"`
}

// String describes t without its tokens.
func (t Token) String() string {
	rt := "no"
	if t.RefreshToken != "" {
		rt = "yes"
	}
	s := fmt.Sprintf("client_id=%s scope=%q expiry=%s refresh_token=%s refreshes=%d", t.ClientID, t.Scope, t.Expiry.Format(time.RFC3339), rt, t.Refreshes)
	if t.Invalid != "" {
		s += " invalid=" + t.Invalid
	}
	return s
}

// GoString is String, so that %#v does not print the tokens either.
func (t Token) GoString() string { return "auth.Token{" + t.String() + "}" }

// Format prints [Token.String] for every verb.
func (t Token) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// MarshalJSON encodes t without its tokens (json.Marshal, zerolog's Interface): it says whether
// there is a refresh token, as String does. The token file is not written through it: [Store]
// encodes its own type (tokenFile).
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClientID     string    `json:"client_id"`
		Scope        string    `json:"scope,omitempty"`
		Expiry       time.Time `json:"expiry,omitzero"`
		Obtained     time.Time `json:"obtained,omitzero"`
		LoggedIn     time.Time `json:"logged_in,omitzero"`
		RefreshToken bool      `json:"refresh_token"`
		Refreshes    int       `json:"refreshes"`
		Invalid      string    `json:"invalid,omitempty"`
	}{t.ClientID, t.Scope, t.Expiry, t.Obtained, t.LoggedIn, t.RefreshToken != "", t.Refreshes, t.Invalid})
}

// MarshalZerologObject logs t without its tokens.
func (t Token) MarshalZerologObject(e *zerolog.Event) {
	e.Str("client_id", t.ClientID).Str("scope", t.Scope).Time("expiry", t.Expiry).
		Bool("refresh_token", t.RefreshToken != "").Int("refreshes", t.Refreshes)
}

// Lifetime is the access token's lifetime as issued.
func (t *Token) Lifetime() time.Duration { return t.Expiry.Sub(t.Obtained) }

// HasScope reports whether the grant includes scope.
func (t *Token) HasScope(scope string) bool {
	for s := range strings.FieldsSeq(t.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// RefreshMargin is how long before its expiry an access token is refreshed: 5 minutes, or a
// tenth of its lifetime when that is shorter (a 2-hour X token is refreshed 5 minutes early, a
// 3-second test token 300 ms early).
func RefreshMargin(lifetime time.Duration) time.Duration { return min(5*time.Minute, lifetime/10) }

// due reports whether t should be refreshed at now.
func (t *Token) due(now time.Time) bool {
	return !now.Before(t.Expiry.Add(-RefreshMargin(t.Lifetime())))
}

// DefaultPath returns the default token file: <user config dir>/mediasync/token.json, beside the
// default config file.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("default token file: %w", err)
	}
	return filepath.Join(dir, "mediasync", "token.json"), nil
}

// LockPath returns the lock file that guards the token file at path.
func LockPath(path string) string { return path + ".lock" }

// stamp identifies one version of the file cheaply: every write renames a new inode into place,
// so where the system names the inode (stampOf in stamp_unix.go) a rewrite within the mtime's
// resolution is still seen; elsewhere (stamp_other.go) size and mtime alone tell versions apart.
type stamp struct {
	ok    bool
	dev   uint64
	ino   uint64
	size  int64
	mtime int64
}

// Store is the token file: read with a stat-based cache, written atomically with mode 0600, and
// guarded for refreshes by an exclusive flock on path+".lock" that every process using the file
// takes. It is safe for concurrent use; Transports sharing a Store also share one in-process
// refresh.
type Store struct {
	path string
	log  zerolog.Logger

	// sem serialises refreshes within the process (a channel so that waiting honours ctx).
	sem chan struct{}

	mu     sync.Mutex
	cached *Token
	st     stamp
	err    error // what reading the file at st gave, when not a token

	// refresh state, guarded by sem
	failures   int       // consecutive transient refresh failures
	retryAt    time.Time // no refresh attempt before this
	lastErr    error     // the last transient failure, while failures > 0
	refused    string    // refresh token the token endpoint refused the client for (ReasonClient)
	refusedErr *LoginRequiredError
	pending    *Token    // a refreshed pair that could not be written yet; never used before it is
	pendingSt  stamp     // the file's version when pending was kept; pending is dropped if it changes
	forcedAt   time.Time // last refresh forced by a 401
	forcedTok  string    // access token that forced refresh produced
}

// NewStore returns the store of the token file at path. Nothing is read until needed. Log gets
// warnings (a mode repaired, a refresh retried) and debug lines; never a token.
func NewStore(path string, log zerolog.Logger) *Store {
	return &Store{path: path, log: log.With().Str("component", "auth").Logger(), sem: make(chan struct{}, 1)}
}

// Path returns the token file's path.
func (s *Store) Path() string { return s.path }

// Load reads the token file afresh. A missing file is a [*LoginRequiredError] with ReasonNoToken
// (wrapping fs.ErrNotExist), an unreadable one ReasonDamaged. A file readable by group or others is
// repaired to 0600 with a warning; one that cannot be repaired is refused.
func (s *Store) Load() (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked()
}

// current returns the token, re-reading the file only when a stat shows that it changed (another
// process refreshed, `auth login` ran).
func (s *Store) current() (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err == nil && s.st.ok && stampOf(fi) == s.st {
		return s.cached, s.err
	}
	return s.loadLocked()
}

func (s *Store) loadLocked() (*Token, error) {
	tok, st, err := s.read()
	s.cached, s.st, s.err = tok, st, err
	return tok, err
}

func (s *Store) read() (*Token, stamp, error) {
	f, err := os.Open(s.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, stamp{}, &LoginRequiredError{Reason: ReasonNoToken, Path: s.path, Err: err}
		}
		return nil, stamp{}, fmt.Errorf("read token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read token file: %w", err)
	}
	st := stampOf(fi)
	if !fi.Mode().IsRegular() {
		return nil, st, &LoginRequiredError{Reason: ReasonDamaged, Path: s.path, Detail: "not a regular file"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		if err := f.Chmod(0o600); err != nil {
			return nil, st, fmt.Errorf("token file %s is accessible by group or others (mode %04o) and cannot be made private: %w", s.path, perm, err)
		}
		s.log.Warn().Str("path", s.path).Str("mode", fmt.Sprintf("%04o", perm)).Msg("token file was accessible by group or others; changed to 0600")
		if fi, err = f.Stat(); err == nil {
			st = stampOf(fi)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, st, fmt.Errorf("read token file: %w", err)
	}
	var tf tokenFile
	if len(data) > maxFileSize {
		return nil, st, &LoginRequiredError{Reason: ReasonDamaged, Path: s.path, Detail: "larger than 64 KiB"}
	}
	if err := json.Unmarshal(data, &tf); err != nil {
		// The error of encoding/json quotes no value, only offsets and types.
		return nil, st, &LoginRequiredError{Reason: ReasonDamaged, Path: s.path, Detail: "not valid JSON", Err: err}
	}
	if tf.Version != FileVersion {
		return nil, st, &LoginRequiredError{Reason: ReasonDamaged, Path: s.path, Detail: fmt.Sprintf("version %d, want %d", tf.Version, FileVersion)}
	}
	tok := &Token{
		ClientID: tf.ClientID, AccessToken: tf.AccessToken, RefreshToken: tf.RefreshToken, Scope: tf.Scope,
		Expiry: tf.Expiry, Obtained: tf.Obtained, LoggedIn: tf.LoggedIn, Refreshes: tf.Refreshes, Invalid: tf.Invalid,
	}
	if tok.Invalid == "" && tok.AccessToken == "" {
		return nil, st, &LoginRequiredError{Reason: ReasonDamaged, Path: s.path, Detail: "no access token"}
	}
	return tok, st, nil
}

// Save writes tok as the token file, under the cross-process lock (so that it never interleaves
// with a refresh of another process). `auth login` uses it.
func (s *Store) Save(ctx context.Context, tok *Token) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer s.unlock(l)
	return s.write(tok, false)
}

// Remove deletes the token file (`auth logout`), under the lock. A missing file is not an error.
func (s *Store) Remove(ctx context.Context) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer s.unlock(l)
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove token file: %w", err)
	}
	s.mu.Lock()
	s.st = stamp{}
	s.mu.Unlock()
	return syncDir(filepath.Dir(s.path))
}

// lock takes the exclusive cross-process lock, waiting for it as long as ctx allows.
func (s *Store) lock(ctx context.Context) (*flock.Flock, error) {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return nil, fmt.Errorf("token file directory: %w", err)
	}
	lp := LockPath(s.path)
	l := flock.New(lp, flock.SetPermissions(0o600))
	ok, err := l.TryLockContext(ctx, 5*time.Millisecond)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
			return nil, fmt.Errorf("lock %s: %w (this file system does not support locks; put credentials.token_file on a local disk)", lp, err)
		}
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: not acquired", lp)
	}
	s.removeTemps()
	return l, nil
}

// removeTemps deletes temp files that writes killed before their rename left behind (they hold
// tokens). Only the lock holder writes, so none of them is in use. Failures are ignored.
func (s *Store) removeTemps() {
	dir := filepath.Dir(s.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + filepath.Base(s.path) + ".tmp-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *Store) unlock(l *flock.Flock) {
	if err := l.Unlock(); err != nil {
		s.log.Warn().Err(err).Msg("unlock token file")
	}
}

// write replaces the token file with tok; the caller holds the lock. The temp file is created
// 0600 in the same directory, written, fsynced once (before or after the rename, see below) and
// renamed over the file, and the directory is fsynced; only then does write return and may the
// new access token be used.
//
// renameFirst is for a refreshed pair: once the token endpoint has answered, the old refresh token
// is spent and the old file protects nothing, so the new pair gets the file's name before the
// (slow) fsync, which shrinks the window in which a kill -9 loses the grant from an fsync to a
// write(2). Other writes (a login replacing a grant that may still be good) fsync before the rename,
// so that a crash never leaves the name on an empty file; the rename then changes only the
// directory, which the directory fsync covers.
func (s *Store) write(tok *Token, renameFirst bool) (err error) {
	tf := tokenFile{
		Version: FileVersion, ClientID: tok.ClientID, TokenType: "bearer", AccessToken: tok.AccessToken,
		RefreshToken: tok.RefreshToken, Scope: tok.Scope, Expiry: tok.Expiry.UTC(), Obtained: tok.Obtained.UTC(),
		LoggedIn: tok.LoggedIn.UTC(), Refreshes: tok.Refreshes, Invalid: tok.Invalid,
	}
	data, err := json.MarshalIndent(tf, "", "  ")
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".tmp-*") // CreateTemp makes it 0600
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	tmp, renamed := f.Name(), false
	defer func() {
		if err != nil {
			f.Close()
			if !renamed {
				os.Remove(tmp)
			}
			err = fmt.Errorf("write token file %s: %w", s.path, err)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if !renameFirst {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	renamed = true
	if renameFirst {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	fi, statErr := f.Stat()
	if err := f.Close(); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	s.mu.Lock()
	s.cached, s.err = tok, nil
	if statErr == nil {
		s.st = stampOf(fi)
	} else {
		s.st = stamp{}
	}
	s.mu.Unlock()
	return nil
}

// keepPending keeps nt, a refreshed pair whose write failed, to be written by the next refresh;
// the caller holds the lock. The file's version now is remembered with it: the pair is written
// later only over that version, never over a newer login (see [Store.takePending]).
func (s *Store) keepPending(nt *Token) {
	st, err := s.stat()
	s.mu.Lock()
	if err != nil {
		st = s.st // the version read under this lock before the refresh
	}
	s.pending, s.pendingSt = nt, st
	s.mu.Unlock()
}

// takePending returns the pending pair if there is one and the file is still the version it was
// kept with, and forgets it either way; the caller holds the lock. A changed file (an `auth login`
// or `logout` by another process, a refusal recorded by one) wins: the pending pair belongs to the
// grant the file held before, and writing it would overwrite a newer one.
func (s *Store) takePending() (*Token, error) {
	s.mu.Lock()
	pending, kept := s.pending, s.pendingSt
	s.mu.Unlock()
	if pending == nil {
		return nil, nil
	}
	st, err := s.stat()
	if err != nil {
		return nil, err // pending is kept: the next refresh decides
	}
	s.mu.Lock()
	s.pending, s.pendingSt = nil, stamp{}
	s.mu.Unlock()
	if st != kept {
		s.log.Warn().Str("path", s.path).Msg("the token file changed since a refreshed pair could not be written; that pair is dropped and the file's grant used")
		return nil, nil
	}
	return pending, nil
}

// stat returns the file's version: the zero stamp when it is missing.
func (s *Store) stat() (stamp, error) {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return stamp{}, nil
	case err != nil:
		return stamp{}, fmt.Errorf("stat token file: %w", err)
	}
	return stampOf(fi), nil
}

// syncDir makes a rename in dir durable (internal/durable).
var syncDir = durable.SyncDir
