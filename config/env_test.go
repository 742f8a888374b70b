package config

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "mediasync.yaml")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// An unset ${VAR} without a default is an error naming the variable, at its line; ${VAR:-} keeps
// the empty value; a credential may reference an unset variable (its MEDIASYNC_* variable fills it,
// else Missing names the reference when a command needs it).
func TestUnsetVariable(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_TEST_EMPTY", "")
	t.Setenv("MEDIASYNC_CONSUMER_KEY", "ck-from-env")
	tests := []struct {
		name, body string
		want       []string // problems; nil = loads
	}{
		{"unset in a string", "log:\n  level: info\nfolders:\n  - path: ${MEDIASYNC_TEST_NOPE}/photos\n",
			[]string{":4: folders[0].path: ${MEDIASYNC_TEST_NOPE} is not set (set it, or write ${MEDIASYNC_TEST_NOPE:-default})"}},
		{"two unset in one value", "api:\n  base_url: ${MEDIASYNC_TEST_A}://${MEDIASYNC_TEST_B}\n",
			[]string{":2: api.base_url: ${MEDIASYNC_TEST_A}, ${MEDIASYNC_TEST_B} are not set"}},
		{"unset in a number", "upload:\n  workers: ${MEDIASYNC_TEST_WORKERS}\n",
			[]string{":2: upload.workers: ${MEDIASYNC_TEST_WORKERS} is not set"}},
		{"empty default keeps the empty value", "metrics:\n  listen: ${MEDIASYNC_TEST_NOPE:-}\n", nil},
		{"set but empty is empty", "metrics:\n  listen: ${MEDIASYNC_TEST_EMPTY}\n", nil},
		{"credential: unset falls back", "credentials:\n  consumer_key: ${MEDIASYNC_TEST_NOPE}\n  consumer_secret: ${MEDIASYNC_CONSUMER_SECRET}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeConfig(t, tt.body)
			cfg, err := Load(file)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load = %+v, want %q", cfg, tt.want)
			}
			probs := Problems(err)
			if len(probs) != len(tt.want) {
				t.Fatalf("Load: %d problems, want %d:\n%v", len(probs), len(tt.want), err)
			}
			for i, p := range probs {
				if !strings.HasPrefix(p.Error(), file+tt.want[i]) {
					t.Errorf("problem %d = %q, want it to start with %q", i, p, file+tt.want[i])
				}
			}
		})
	}

	cfg, err := Load(writeConfig(t, "metrics:\n  listen: ${MEDIASYNC_TEST_NOPE:-}\n"))
	if err != nil || cfg.Metrics.Listen != "" {
		t.Errorf("${VAR:-} = %q, %v; want empty", cfg.Metrics.Listen, err)
	}
	cfg, err = Load(writeConfig(t, "credentials:\n  consumer_key: ${MEDIASYNC_TEST_NOPE}\n  consumer_secret: ${MEDIASYNC_CONSUMER_SECRET}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Credentials.ConsumerKey.Reveal(); got != "ck-from-env" {
		t.Errorf("consumer_key = %q, want it filled from MEDIASYNC_CONSUMER_KEY", got)
	}
	want := []string{"consumer_secret (or MEDIASYNC_CONSUMER_SECRET)", "access_token (or MEDIASYNC_ACCESS_TOKEN)", "access_token_secret (or MEDIASYNC_ACCESS_TOKEN_SECRET)"}
	if got := cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth); !slices.Equal(got, want) {
		t.Errorf("Missing() = %q, want %q", got, want)
	}
	// A credential with an unset part is empty, not half a secret.
	cfg, err = Load(writeConfig(t, "credentials:\n  access_token: ${MEDIASYNC_TEST_AT}-${MEDIASYNC_TEST_NOPE}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Credentials.AccessToken.Reveal(); got != "" {
		t.Errorf("access_token = %q, want empty", got)
	}
	if got := cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth); !slices.Contains(got, "access_token (${MEDIASYNC_TEST_NOPE} is not set; or set MEDIASYNC_ACCESS_TOKEN)") {
		t.Errorf("Missing() = %q, want it to name ${MEDIASYNC_TEST_NOPE}", got)
	}
}

// No problem or warning quotes a value that came from a secret variable or a credential key, even
// when it lands in a key where it is wrong (a wrong type, a bad value, a cross-folder check).
func TestErrorsHideSecretValues(t *testing.T) {
	testEnv(t)
	secrets := map[string]string{
		"MY_API_TOKEN":              "tok-9f8e7d6c",
		"DEPLOY_PASSWORD":           "pw-5b4a3c2d",
		"X_SECRET_DIR":              "relative-sekrit-dir",
		"MEDIASYNC_CONSUMER_SECRET": "cs-1a2b3c4d",
		"METRICS_AUTH":              "auth-host-77",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	body := `api:
  version: ${MEDIASYNC_CONSUMER_SECRET}
credentials:
  consumer_key: literal-ck-424242
upload:
  workers: ${MY_API_TOKEN}
  chunk_size: x${DEPLOY_PASSWORD}
watch:
  settle: ${DEPLOY_PASSWORD}
folders:
  - path: ${X_SECRET_DIR}
  - path: /srv/a
    alt_text: literal-ck-424242
metrics:
  listen: ${METRICS_AUTH}
log:
  level: ${METRICS_AUTH}
`
	file := writeConfig(t, body)
	_, err := Load(file)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	msg := err.Error()
	for _, v := range append(slices.Collect(maps.Values(secrets)), "literal-ck-424242") {
		if strings.Contains(msg, v) {
			t.Errorf("an error quotes the secret %q:\n%s", v, msg)
		}
	}
	for _, key := range []string{"api.version", "upload.workers", "upload.chunk_size", "watch.settle", "folders[0].path", "folders[1].alt_text", "metrics.listen", "log.level"} {
		if !strings.Contains(msg, key+": ") {
			t.Errorf("no problem for %s:\n%s", key, msg)
		}
	}
	if !strings.Contains(msg, `"[redacted]" is not a whole number`) {
		t.Errorf("the redacted problems no longer say what is wrong:\n%s", msg)
	}

	// Validate on a config built in code hides its credentials too.
	c := Default()
	c.Credentials.BearerToken = "bearer-31415926"
	c.Log.Level = "bearer-31415926"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "bearer-31415926") {
		t.Errorf("Validate() = %v; want a problem that does not quote the bearer token", err)
	}
}
