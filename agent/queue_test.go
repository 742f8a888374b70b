package agent

import (
	"context"
	"testing"

	"github.com/mediasync/mediasync/manifest"
)

func queueJob(f *folder, rel string) job {
	return job{f: f, rel: rel, abs: f.Path + "/" + rel}
}

// TestQueueAnswersEveryCaller: two requests someone waits on for the same file (two `mediasync
// upload FILE`, a Retry button pressed twice), queued or arriving while the file is in flight,
// both get the outcome; the watcher's news never displaces a request.
func TestQueueAnswersEveryCaller(t *testing.T) {
	f := &folder{}
	f.Path = "/w"
	for _, inflight := range []bool{false, true} {
		q := newQueue()
		if inflight {
			q.push(queueJob(f, "a.jpg"), false)
			if _, ok := q.pop(context.Background()); !ok {
				t.Fatal("pop")
			}
		}
		var answered []string
		for _, who := range []string{"first", "second"} {
			j := queueJob(f, "a.jpg")
			j.reply = func(manifest.Entry, error) { answered = append(answered, who) }
			q.push(j, true)
		}
		q.push(queueJob(f, "a.jpg"), false) // the watcher's news, nobody waits on it
		if inflight {
			q.done(f.Path + "/a.jpg")
		}
		j, ok := q.pop(context.Background())
		if !ok || j.reply == nil {
			t.Fatalf("inflight=%v: the queued job lost its callers: %+v", inflight, j)
		}
		j.reply(manifest.Entry{}, nil)
		if len(answered) != 2 || answered[0] != "first" || answered[1] != "second" {
			t.Errorf("inflight=%v: answered %q, want both callers in order", inflight, answered)
		}
	}
}

// TestQueueFrontSurvivesInflight: a job pushed to the front while its file is in flight (the
// account refusal's re-queue, an explicit request) is at the front once the file is done, not
// behind the backlog.
func TestQueueFrontSurvivesInflight(t *testing.T) {
	f := &folder{}
	f.Path = "/w"
	q := newQueue()
	q.push(queueJob(f, "a.jpg"), false)
	q.push(queueJob(f, "b.jpg"), false)
	q.push(queueJob(f, "c.jpg"), false)
	a, _ := q.pop(context.Background())
	q.push(a, true)
	q.push(queueJob(f, "a.jpg"), false) // later news for a.jpg does not lose its place
	q.done(a.key())
	if j, _ := q.pop(context.Background()); j.rel != "a.jpg" {
		t.Errorf("popped %s first, want a.jpg (pushed to the front while in flight)", j.rel)
	}
}
