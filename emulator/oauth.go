package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// timestampWindow is how far an oauth_timestamp may lie from the server's
// clock, either way, before the request is refused with code 135.
const timestampWindow = 15 * time.Minute

// maxFormBody caps an application/x-www-form-urlencoded body: such bodies are
// read whole because their parameters are part of the signature. Base64
// media_data for a 5 MB image is the largest legitimate one.
const maxFormBody = 16 << 20

// authFailure says why a request was refused: the answer (status, X's error
// code and message) and, for the log only, the reason.
type authFailure struct {
	status int
	code   int
	msg    string
	reason string // for the log only; never contains a secret
	plain  bool   // v2: answer a plain problem (title, detail, type, status), as X does for OAuth 2.0 tokens
	// appOnly marks an app-only bearer token (Credentials.AppBearerToken).
	appOnly bool
}

var (
	errNoAuth = &authFailure{status: http.StatusBadRequest, code: 215, msg: "Bad Authentication data.", reason: "no authorization"}
)

func badAuth(reason string) *authFailure {
	return &authFailure{status: http.StatusUnauthorized, code: 32, msg: "Could not authenticate you.", reason: reason}
}

// oauthVerifier verifies OAuth 1.0a HMAC-SHA1 signatures (RFC 5849) the way X
// applies them: query parameters and application/x-www-form-urlencoded body
// parameters are signed, multipart and JSON bodies never.
type oauthVerifier struct {
	now func() time.Time

	seed maphash.Seed

	mu        sync.Mutex
	nonces    map[uint64]int64 // hash of consumer|token|nonce -> oauth_timestamp
	lastPrune time.Time
}

func newOAuthVerifier(now func() time.Time) *oauthVerifier {
	return &oauthVerifier{now: now, seed: maphash.MakeSeed(), nonces: make(map[uint64]int64)}
}

func (v *oauthVerifier) reset() {
	v.mu.Lock()
	clear(v.nonces)
	v.mu.Unlock()
}

// oauthRequest is what signature verification needs from a request.
type oauthRequest struct {
	method      string
	baseURI     string            // scheme://host[:port]/path, RFC 5849 §3.4.1.2
	query       url.Values        // request query
	form        url.Values        // form-urlencoded body parameters (nil when the body is not a form)
	oauthParams map[string]string // protocol parameters
	fromHeader  bool              // oauthParams came in the Authorization header (else they are in query/form)
}

// verify checks the signature, the timestamp window and the nonce of r
// against creds. On success the nonce is remembered, so a replay fails.
func (v *oauthVerifier) verify(r *oauthRequest, creds Credentials) *authFailure {
	p := r.oauthParams
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp", "oauth_nonce", "oauth_signature"} {
		if p[k] == "" {
			return badAuth("missing " + k)
		}
	}
	if ver, ok := p["oauth_version"]; ok && ver != "1.0" {
		return badAuth("unsupported oauth_version")
	}
	if p["oauth_signature_method"] != "HMAC-SHA1" {
		return badAuth("unsupported signature method")
	}
	if creds.ConsumerKey == "" || !constantEqual(p["oauth_consumer_key"], creds.ConsumerKey) {
		return badAuth("unknown consumer key")
	}
	if creds.AccessToken == "" || !constantEqual(p["oauth_token"], creds.AccessToken) {
		return badAuth("unknown access token")
	}
	want := signature(r, creds.ConsumerSecret, creds.AccessTokenSecret)
	got, err := base64.StdEncoding.DecodeString(p["oauth_signature"])
	if err != nil || !hmac.Equal(got, want) {
		return badAuth("signature mismatch")
	}
	ts, err := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	if err != nil {
		return &authFailure{status: http.StatusUnauthorized, code: 135, msg: "Timestamp out of bounds.", reason: "bad timestamp"}
	}
	now := v.now()
	if d := now.Sub(time.Unix(ts, 0)); d > timestampWindow || d < -timestampWindow {
		return &authFailure{status: http.StatusUnauthorized, code: 135, msg: "Timestamp out of bounds.", reason: "timestamp out of window"}
	}
	// A 64-bit hash keeps the memory per remembered nonce small; a false
	// "replay" needs a collision (odds ~n²/2⁶⁵).
	key := maphash.String(v.seed, p["oauth_consumer_key"]+"\x00"+p["oauth_token"]+"\x00"+p["oauth_nonce"])
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, seen := v.nonces[key]; seen {
		return badAuth("replayed nonce")
	}
	// Once a minute, forget nonces whose timestamps left the window: a
	// replay of those fails the timestamp check anyway.
	if now.Sub(v.lastPrune) > time.Minute {
		v.lastPrune = now
		cut := now.Add(-timestampWindow).Unix()
		for k, t := range v.nonces {
			if t < cut {
				delete(v.nonces, k)
			}
		}
	}
	v.nonces[key] = ts
	return nil
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// signature computes the HMAC-SHA1 signature of r (RFC 5849 §3.4.2).
func signature(r *oauthRequest, consumerSecret, tokenSecret string) []byte {
	mac := hmac.New(sha1.New, []byte(percentEncode(consumerSecret)+"&"+percentEncode(tokenSecret)))
	io.WriteString(mac, baseString(r))
	return mac.Sum(nil)
}

// baseString builds the signature base string (RFC 5849 §3.4.1).
func baseString(r *oauthRequest) string {
	type pair struct{ k, v string }
	var pairs []pair
	add := func(vals url.Values) {
		for k, vs := range vals {
			if k == "oauth_signature" {
				continue
			}
			for _, v := range vs {
				pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
			}
		}
	}
	add(r.query)
	add(r.form)
	for k, v := range r.oauthParams {
		if !r.fromHeader {
			break
		}
		if k == "oauth_signature" || k == "realm" {
			continue
		}
		pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return strings.ToUpper(r.method) + "&" + percentEncode(r.baseURI) + "&" + percentEncode(b.String())
}

// percentEncode encodes s per RFC 3986 §2.1 as RFC 5849 §3.6 requires: every
// byte except the unreserved characters A-Z a-z 0-9 - . _ ~ becomes %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// parseOAuthHeader parses an "Authorization: OAuth k="v", ..." header
// (RFC 5849 §3.5.1). Values are percent-decoded.
func parseOAuthHeader(h string) (map[string]string, error) {
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "OAuth") {
		return nil, errors.New("not an oauth authorization header")
	}
	params := make(map[string]string)
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("malformed oauth parameter %q", k)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		key, err1 := url.PathUnescape(strings.TrimSpace(k))
		val, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed oauth parameter %q", k)
		}
		if _, dup := params[key]; dup {
			return nil, fmt.Errorf("duplicate oauth parameter %q", key)
		}
		params[key] = val
	}
	return params, nil
}

// isFormContentType reports whether ct is application/x-www-form-urlencoded,
// with or without parameters such as charset: per RFC 5849 §3.4.1.3.1 the
// body then holds signed parameters.
func isFormContentType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		base, _, _ := strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(base))
	}
	return mt == "application/x-www-form-urlencoded"
}

// requestBaseURI is the base string URI of r (RFC 5849 §3.4.1.2): scheme and
// host lowercased, default ports dropped, the path as sent, no query.
func requestBaseURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
			host = h
			if strings.Contains(h, ":") {
				host = "[" + h + "]"
			}
		}
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}
