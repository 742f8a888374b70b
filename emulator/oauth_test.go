package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The example of X's "Creating a signature" page
// (docs.x.com fundamentals/authentication/oauth-1-0a/creating-a-signature).
var (
	docCreds = Credentials{
		ConsumerKey:       "xvz1evFS4wEEPTGEFPHBog",
		ConsumerSecret:    "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		AccessToken:       "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		AccessTokenSecret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
	}
	docTime      = time.Unix(1318622958, 0)
	docSignature = "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
	docBody      = "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
	docURL       = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true"
	docBase      = "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
)

func docHeader(sig string) string {
	return `OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", oauth_signature="` +
		url.QueryEscape(sig) + `", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0"`
}

func TestSignatureGolden(t *testing.T) {
	form, _ := url.ParseQuery(docBody)
	params, err := parseOAuthHeader(docHeader(docSignature))
	if err != nil {
		t.Fatal(err)
	}
	r := &oauthRequest{method: "POST", baseURI: "https://api.twitter.com/1.1/statuses/update.json",
		query: url.Values{"include_entities": {"true"}}, form: form, oauthParams: params, fromHeader: true}
	if got := baseString(r); got != docBase {
		t.Errorf("baseString =\n%s\nwant\n%s", got, docBase)
	}
	if got := base64.StdEncoding.EncodeToString(signature(r, docCreds.ConsumerSecret, docCreds.AccessTokenSecret)); got != docSignature {
		t.Errorf("signature = %s, want %s", got, docSignature)
	}
}

func TestPercentEncode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ladies + Gentlemen", "Ladies%20%2B%20Gentlemen"},
		{"An encoded string!", "An%20encoded%20string%21"},
		{"Dogs, Cats & Mice", "Dogs%2C%20Cats%20%26%20Mice"},
		{"☃", "%E2%98%83"},
		{"a-b.c_d~e", "a-b.c_d~e"},
		{"*'()", "%2A%27%28%29"},
	}
	for _, tt := range tests {
		if got := percentEncode(tt.in); got != tt.want {
			t.Errorf("percentEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func newDocServer(t *testing.T, now time.Time) *Server {
	t.Helper()
	s, err := New(Options{Credentials: docCreds, InMemory: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.now = func() time.Time { return now }
	return s
}

type errorsBody struct {
	Errors []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

func firstCode(t *testing.T, rec *httptest.ResponseRecorder) int {
	t.Helper()
	var b errorsBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || len(b.Errors) == 0 {
		t.Fatalf("body %q: no errors array (%v)", rec.Body.String(), err)
	}
	return b.Errors[0].Code
}

// TestVerifyDocExampleOverHTTP sends X's documented example request: it is
// authenticated (and then answered 404 code 34, since the emulator has no
// statuses/update), while every variation that breaks the signature is 401.
func TestVerifyDocExampleOverHTTP(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		url         string
		header      string
		creds       func(*Credentials)
		now         time.Time
		wantStatus  int
		wantCode    int
	}{
		{name: "doc example", contentType: "application/x-www-form-urlencoded", wantStatus: 404, wantCode: 34},
		{name: "form with charset is still signed", contentType: "application/x-www-form-urlencoded; charset=UTF-8", wantStatus: 404, wantCode: 34},
		{name: "form with upper-case type", contentType: "Application/X-WWW-Form-Urlencoded;charset=utf-8", wantStatus: 404, wantCode: 34},
		{name: "multipart body is not signed", contentType: "multipart/form-data; boundary=x", body: "--x--\r\n", wantStatus: 401, wantCode: 32},
		{name: "json body is not signed", contentType: "application/json", body: `{"status":"x"}`, wantStatus: 401, wantCode: 32},
		{name: "changed body", contentType: "application/x-www-form-urlencoded", body: "status=Hello", wantStatus: 401, wantCode: 32},
		{name: "changed query", contentType: "application/x-www-form-urlencoded", url: "https://api.twitter.com/1.1/statuses/update.json?include_entities=false", wantStatus: 401, wantCode: 32},
		{name: "http instead of https", contentType: "application/x-www-form-urlencoded", url: "http://api.twitter.com/1.1/statuses/update.json?include_entities=true", wantStatus: 401, wantCode: 32},
		{name: "wrong consumer secret", contentType: "application/x-www-form-urlencoded", creds: func(c *Credentials) { c.ConsumerSecret += "x" }, wantStatus: 401, wantCode: 32},
		{name: "wrong token secret", contentType: "application/x-www-form-urlencoded", creds: func(c *Credentials) { c.AccessTokenSecret = "nope" }, wantStatus: 401, wantCode: 32},
		{name: "unknown consumer key", contentType: "application/x-www-form-urlencoded", creds: func(c *Credentials) { c.ConsumerKey = "other" }, wantStatus: 401, wantCode: 32},
		{name: "unknown token", contentType: "application/x-www-form-urlencoded", creds: func(c *Credentials) { c.AccessToken = "1-other" }, wantStatus: 401, wantCode: 32},
		{name: "bad signature", contentType: "application/x-www-form-urlencoded", header: docHeader("AAAAYh+iHYCEqBWrE7C7hYmtUk="), wantStatus: 401, wantCode: 32},
		{name: "timestamp too old", contentType: "application/x-www-form-urlencoded", now: docTime.Add(16 * time.Minute), wantStatus: 401, wantCode: 135},
		{name: "timestamp in the future", contentType: "application/x-www-form-urlencoded", now: docTime.Add(-16 * time.Minute), wantStatus: 401, wantCode: 135},
		{name: "timestamp within window", contentType: "application/x-www-form-urlencoded", now: docTime.Add(14 * time.Minute), wantStatus: 404, wantCode: 34},
		{name: "no authorization", contentType: "application/x-www-form-urlencoded", header: "-", wantStatus: 400, wantCode: 215},
		{name: "bearer on v1.1", contentType: "application/x-www-form-urlencoded", header: "Bearer abc", wantStatus: 403, wantCode: 220},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := docCreds
			if tt.creds != nil {
				tt.creds(&creds)
			}
			now := docTime
			if !tt.now.IsZero() {
				now = tt.now
			}
			s, err := New(Options{Credentials: creds, InMemory: true, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.now = func() time.Time { return now }
			body, u, h := docBody, docURL, docHeader(docSignature)
			if tt.body != "" {
				body = tt.body
			}
			if tt.url != "" {
				u = tt.url
			}
			if tt.header != "" {
				h = tt.header
			}
			req := httptest.NewRequest("POST", u, strings.NewReader(body))
			req.Header.Set("Content-Type", tt.contentType)
			if h != "-" {
				req.Header.Set("Authorization", h)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := firstCode(t, rec); got != tt.wantCode {
				t.Errorf("code = %d, want %d", got, tt.wantCode)
			}
			if strings.Contains(rec.Body.String(), creds.ConsumerSecret) || strings.Contains(rec.Body.String(), docSignature) {
				t.Errorf("answer leaks a secret: %s", rec.Body)
			}
		})
	}
}

func TestReplayedNonceRefused(t *testing.T) {
	s := newDocServer(t, docTime)
	for i, want := range []int{http.StatusNotFound, http.StatusUnauthorized} {
		req := httptest.NewRequest("POST", docURL, strings.NewReader(docBody))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", docHeader(docSignature))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Fatalf("request %d: status = %d, want %d; body %s", i, rec.Code, want, rec.Body)
		}
	}
}

// TestOAuthParamsInQuery signs with the protocol parameters in the query
// string instead of the header (RFC 5849 §3.5.3).
func TestOAuthParamsInQuery(t *testing.T) {
	s := newDocServer(t, docTime)
	q := url.Values{
		"include_entities":       {"true"},
		"oauth_consumer_key":     {docCreds.ConsumerKey},
		"oauth_nonce":            {"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"},
		"oauth_signature_method": {"HMAC-SHA1"},
		"oauth_timestamp":        {"1318622958"},
		"oauth_token":            {docCreds.AccessToken},
		"oauth_version":          {"1.0"},
		"oauth_signature":        {docSignature},
	}
	req := httptest.NewRequest("POST", "https://api.twitter.com/1.1/statuses/update.json?"+q.Encode(), strings.NewReader(docBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404 (authenticated); body %s", rec.Code, rec.Body)
	}
}
