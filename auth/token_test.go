package auth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/auth"
)

// A Token shows neither token however it is printed: fmt's verbs, zerolog (Object; Interface,
// which uses MarshalZerologObject for a Token itself but encoding/json for a value holding one) and
// json.Marshal. The token file still holds both.
func TestTokenNeverShowsItsTokens(t *testing.T) {
	const access, refresh = "ACCESS-d8f2a1", "REFRESH-77c0e3"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok := auth.Token{ClientID: "client", AccessToken: access, RefreshToken: refresh, Scope: "media.write offline.access",
		Expiry: now.Add(2 * time.Hour), Obtained: now, LoggedIn: now, Refreshes: 3}

	var logs bytes.Buffer
	log := zerolog.New(&logs)
	log.Info().Object("token", tok).Msg("object")
	log.Info().Interface("token", tok).Msg("interface")
	log.Info().Interface("token", &tok).Msg("interface of a pointer")
	log.Info().Interface("tokens", []auth.Token{tok}).Msg("interface of a slice")
	js, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	jsPtr, _ := json.Marshal(map[string]any{"token": &tok})
	shown := map[string]string{
		"%v": fmt.Sprintf("%v", tok), "%+v": fmt.Sprintf("%+v", tok), "%#v": fmt.Sprintf("%#v", tok), "%s": fmt.Sprintf("%s", tok),
		"%v of a pointer": fmt.Sprintf("%v", &tok), "zerolog": logs.String(), "json.Marshal": string(js), "json.Marshal of a pointer": string(jsPtr),
	}
	for how, out := range shown {
		if strings.Contains(out, access) || strings.Contains(out, refresh) {
			t.Errorf("%s shows a token: %s", how, out)
		}
	}
	var decoded struct {
		ClientID     string `json:"client_id"`
		RefreshToken bool   `json:"refresh_token"`
		Refreshes    int    `json:"refreshes"`
	}
	if err := json.Unmarshal(js, &decoded); err != nil || decoded.ClientID != "client" || !decoded.RefreshToken || decoded.Refreshes != 3 {
		t.Errorf("json.Marshal = %s (%v); want the grant's facts without its tokens", js, err)
	}

	// The token file is written through its own type, not Token's MarshalJSON.
	path := filepath.Join(t.TempDir(), "token.json")
	if err := auth.NewStore(path, zerolog.Nop()).Save(t.Context(), &tok); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), access) || !strings.Contains(string(data), refresh) {
		t.Errorf("token file lacks the tokens:\n%s", data)
	}
	got, err := auth.NewStore(path, zerolog.Nop()).Load()
	if err != nil || got.AccessToken != access || got.RefreshToken != refresh {
		t.Errorf("Load = %v, %v; want both tokens back", got, err)
	}
}
