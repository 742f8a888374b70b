package auth

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

// tokenEndpoint is a token endpoint in memory: a refresh of R answers the pair "a-R", "r-R" for 2
// hours, and records R.
type tokenEndpoint struct {
	mu   sync.Mutex
	used []string
}

func (e *tokenEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	form, _ := url.ParseQuery(string(body))
	rt := form.Get("refresh_token")
	e.mu.Lock()
	e.used = append(e.used, rt)
	e.mu.Unlock()
	answer := `{"access_token":"a-` + rt + `","refresh_token":"r-` + rt + `","token_type":"bearer","expires_in":7200}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(answer)), Request: r}, nil
}

func (e *tokenEndpoint) refreshTokens() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.used...)
}

// failSyncDir makes every write of the token file fail after its rename (the directory fsync), as
// a full or failing disk may, until the test ends.
func failSyncDir(t *testing.T) (restore func()) {
	orig := syncDir
	syncDir = func(string) error { return errors.New("fsync: input/output error") }
	restore = func() { syncDir = orig }
	t.Cleanup(restore)
	return restore
}

// A refreshed pair whose write failed is kept and written by the next refresh, but only over the
// version of the file it was kept with: a login (or logout) by another process meanwhile wins, and
// its grant is used. Before, the pending pair overwrote the newer login.
func TestPendingPairNeverOverwritesNewerFile(t *testing.T) {
	const clientID = "client"
	login := func(t *testing.T, path string) {
		now := time.Now()
		// Issued 2 hours ago: due for a refresh, so the next request reaches the pending pair.
		tok := &Token{ClientID: clientID, AccessToken: "login-a", RefreshToken: "login-r", Obtained: now.Add(-2 * time.Hour),
			Expiry: now.Add(time.Minute), LoggedIn: now}
		if err := NewStore(path, zerolog.Nop()).Save(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		other func(t *testing.T, path string) // what another process does while the pair is pending
		want  string                          // the refresh token the file holds at the end
	}{
		{"file unchanged: the pending pair is written, then refreshed", nil, "r-r-r0"},
		{"auth login meanwhile: its grant is used", login, "r-login-r"},
		{"auth logout and login meanwhile: the new grant is used", func(t *testing.T, path string) {
			if err := NewStore(path, zerolog.Nop()).Remove(t.Context()); err != nil {
				t.Fatal(err)
			}
			login(t, path)
		}, "r-login-r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "token.json")
				now := time.Now()
				first := &Token{ClientID: clientID, AccessToken: "a0", RefreshToken: "r0", Obtained: now.Add(-2 * time.Hour),
					Expiry: now.Add(-time.Minute), LoggedIn: now.Add(-2 * time.Hour)}
				if err := NewStore(path, zerolog.Nop()).Save(t.Context(), first); err != nil {
					t.Fatal(err)
				}
				ep := &tokenEndpoint{}
				st := NewStore(path, zerolog.Nop())
				tr := &Transport{Store: st, Config: Config{ClientID: clientID, TokenURL: "https://token.invalid/2/oauth2/token"}, Base: ep}

				restore := failSyncDir(t)
				if _, err := tr.Token(t.Context()); err == nil {
					t.Fatal("Token with a failing disk succeeded; want the write error")
				}
				restore()
				if st.pending == nil {
					t.Fatal("the refreshed pair was not kept")
				}
				if tc.other != nil {
					tc.other(t, path)
				}
				time.Sleep(3 * time.Hour) // every token in play is due

				tok, err := tr.Token(t.Context())
				if err != nil {
					t.Fatalf("Token = %v", err)
				}
				if st.pending != nil {
					t.Errorf("the pending pair is still kept")
				}
				got, lerr := NewStore(path, zerolog.Nop()).Load()
				if lerr != nil || got.RefreshToken != tc.want {
					t.Errorf("token file = %v, %v; want the refresh token %q", got, lerr, tc.want)
				}
				if want := "a-" + strings.TrimPrefix(tc.want, "r-"); tok.AccessToken != want {
					t.Errorf("Token returned the access token %q; want %q, the one that goes with the file", tok.AccessToken, want)
				}
				for _, rt := range ep.refreshTokens()[1:] {
					if rt == "r0" {
						t.Errorf("the spent refresh token r0 was sent again")
					}
				}
			})
		})
	}
}
