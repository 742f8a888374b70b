package hook

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
)

func TestPolicyDelay(t *testing.T) {
	p := Policy{BaseDelay: time.Second, MaxDelay: 10 * time.Second}
	tests := []struct {
		attempts int
		u        float64
		want     time.Duration
	}{
		{1, 0, 0},
		{1, 0.5, 500 * time.Millisecond},
		{2, 0.5, time.Second},
		{3, 0.999, 3996 * time.Millisecond},
		{4, 1, 8 * time.Second},
		{5, 1, 10 * time.Second}, // capped
		{60, 0.5, 5 * time.Second},
		{2, -3, 0},              // u out of range is clamped
		{2, 7, 2 * time.Second}, // likewise
		{0, 0.5, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.attempts, tt.u); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempts, tt.u, got, tt.want)
		}
	}
	if got := (Policy{}).Delay(1, 1); got != DefaultBaseDelay {
		t.Errorf("zero Policy Delay(1, 1) = %v, want %v", got, DefaultBaseDelay)
	}
	if got := (Policy{}).Delay(100, 1); got != DefaultMaxDelay {
		t.Errorf("zero Policy Delay(100, 1) = %v, want %v", got, DefaultMaxDelay)
	}
}

// The hook state goes pending → (failed runs, pending with a later next_attempt_at) → done, or
// failed after the last attempt; a canceled run changes nothing.
func TestPolicyNext(t *testing.T) {
	p := Policy{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: time.Hour}
	now := t0
	fail := Result{Status: Failed, Reason: "exit status 7", Output: "curl: (7) Failed to connect"}

	h := *Pending()
	if !Due(&h, now) {
		t.Fatal("a new pending hook is not due")
	}
	h = p.Next(h, fail, now, 0.5)
	want := manifest.HookState{State: manifest.HookPending, Attempts: 1, LastError: "exit status 7: curl: (7) Failed to connect", NextAttemptAt: now.Add(30 * time.Second)}
	if h != want {
		t.Fatalf("after a failure: %+v, want %+v", h, want)
	}
	if Due(&h, now.Add(29*time.Second)) || !Due(&h, now.Add(30*time.Second)) {
		t.Error("Due ignores next_attempt_at")
	}

	if got := p.Next(h, Result{Status: Canceled, Reason: "stopped"}, now, 0.5); got != h {
		t.Errorf("a canceled run changed the state: %+v", got)
	}

	h2 := p.Next(h, fail, now, 1)
	if h2.State != manifest.HookPending || h2.Attempts != 2 || h2.NextAttemptAt != now.Add(2*time.Minute) {
		t.Errorf("second failure: %+v", h2)
	}
	h3 := p.Next(h2, Result{Status: Failed, Reason: "timed out after 1m0s; process group killed", TimedOut: true}, now, 1)
	want = manifest.HookState{State: manifest.HookFailed, Attempts: 3, LastError: "timed out after 1m0s; process group killed"}
	if h3 != want {
		t.Errorf("last failure: %+v, want %+v", h3, want)
	}
	if Due(&h3, now.Add(time.Hour)) {
		t.Error("a failed hook is due")
	}

	done := p.Next(h2, Result{Status: Done}, now.In(time.FixedZone("x", 3600)), 0.5)
	want = manifest.HookState{State: manifest.HookDone, Attempts: 3, DoneAt: now}
	if done != want || done.DoneAt.Location() != time.UTC {
		t.Errorf("done: %+v, want %+v", done, want)
	}
	if Due(&done, now) || Due(nil, now) {
		t.Error("done or nil hook is due")
	}

	r := Retry(h3)
	if r.State != manifest.HookPending || r.Attempts != 0 || !r.NextAttemptAt.IsZero() || r.LastError != h3.LastError || !Due(&r, now) {
		t.Errorf("Retry = %+v", r)
	}

	if got := (Policy{}).Next(manifest.HookState{State: manifest.HookPending, Attempts: DefaultMaxAttempts - 1}, Result{Status: Failed}, now, 0); got.State != manifest.HookFailed || got.LastError != "failed" {
		t.Errorf("the default policy after %d failures: %+v", DefaultMaxAttempts, got)
	}
}

// config refuses on_upload.env names that the job's variables would override: exactly the names
// Job.Vars sets.
func TestJobVarNamesMatchConfig(t *testing.T) {
	var names []string
	for _, kv := range (Job{}).Vars() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	if want := config.ReservedHookEnv(); !slices.Equal(names, want) {
		t.Errorf("Job.Vars() names %q, config.ReservedHookEnv() %q", names, want)
	}
	if d := config.DefaultFolder("/x").OnUpload.Timeout.D(); d != DefaultTimeout {
		t.Errorf("config's default on_upload.timeout %v, hook's %v", d, DefaultTimeout)
	}
}
