package web

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// randomEntry returns an entry in a random state, with times around testNow drawn from a few
// values so that ties (equal upload or expiry times) happen.
func randomEntry(r *rand.Rand) manifest.Entry {
	at := testNow.Add(-time.Duration(r.IntN(40)) * time.Hour)
	states := []manifest.State{manifest.Pending, manifest.Uploading, manifest.Processing, manifest.Uploaded, manifest.Uploaded, manifest.Failed, manifest.Skipped}
	e := manifest.Entry{State: states[r.IntN(len(states))], Attempts: r.IntN(3), UpdatedAt: at}
	switch e.State {
	case manifest.Uploaded:
		e.UploadedAt, e.ExpiresAt = at, at.Add(24*time.Hour)
		if r.IntN(10) > 0 {
			e.MediaIDString = fmt.Sprint(r.Int64())
		}
		switch r.IntN(4) {
		case 0:
			e.Hook = &manifest.HookState{State: manifest.HookFailed, Attempts: 3, LastError: fmt.Sprint("exit status ", r.IntN(3))}
		case 1:
			e.Hook = &manifest.HookState{State: manifest.HookDone}
		}
	case manifest.Failed:
		e.Error = &manifest.Error{Message: fmt.Sprint("err ", r.IntN(5)), Permanent: r.IntN(2) == 0}
		e.NextAttemptAt = testNow.Add(time.Minute)
	case manifest.Skipped:
		e.Reason = fmt.Sprint("reason ", r.IntN(5))
	}
	return e
}

// TestIndexMatchesSummarize: after any sequence of puts and deletes, Index.Folder answers exactly
// what Summarize answers over the same entries, for any query and time.
func TestIndexMatchesSummarize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ref := map[string]manifest.Entry{}
	for i := range 300 {
		ref[fmt.Sprintf("f%03d.jpg", i)] = randomEntry(r)
	}
	x := NewIndex("/f", maps.All(ref))
	advise := func(rel string, e manifest.Entry) string { return "fix " + rel + " " + string(e.State) }
	check := func(step int) {
		t.Helper()
		for _, q := range []Query{{}, {Limit: 7}, {Offset: 5, Limit: 3}, {Offset: 1000}} {
			for _, now := range []time.Time{testNow, testNow.Add(-20 * time.Hour), testNow.Add(30 * time.Hour)} {
				want := Summarize("/f", maps.All(ref), now, q, advise)
				if got := x.Folder(now, q, advise); !reflect.DeepEqual(got, want) {
					t.Fatalf("step %d, query %+v, now %v:\nindex     %+v\nsummarize %+v", step, q, now, got, want)
				}
			}
		}
	}
	check(0)
	for step := 1; step <= 400; step++ {
		rel := fmt.Sprintf("f%03d.jpg", r.IntN(350))
		if e, ok := ref[rel]; ok && r.IntN(4) == 0 {
			// A write that keeps the entry's place (a removed file, another attempt, a hook's run).
			e.Deleted, e.Attempts = !e.Deleted, e.Attempts+1
			if e.Error != nil {
				e.Error = &manifest.Error{Message: e.Error.Message + "!", Permanent: e.Error.Permanent}
			}
			ref[rel] = e
			x.Put(rel, e)
		} else if r.IntN(5) == 0 {
			delete(ref, rel)
			x.Delete(rel)
		} else {
			e := randomEntry(r)
			ref[rel] = e
			x.Put(rel, e)
		}
		if step%20 == 0 {
			check(step)
		}
	}
	if x.Len() != len(ref) {
		t.Errorf("Len = %d, want %d", x.Len(), len(ref))
	}
}
