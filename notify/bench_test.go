package notify

import (
	"net/http"
	"testing"

	"github.com/rs/zerolog"
)

// BenchmarkPublish measures what an upload worker pays to publish an event to two targets whose
// sender is not running (so the queues fill and the oldest events are dropped: the worst case).
func BenchmarkPublish(b *testing.B) {
	n := New([]Target{{URL: "https://a.example.com/x"}, {URL: "https://b.example.com/x", Events: []EventType{Failed}}},
		Options{Client: &http.Client{Transport: &fakeRT{}}}, zerolog.Nop())
	ev := Event{Type: Uploaded, Folder: "/srv/exports", Path: "shoot-01/IMG_0001.jpg", MediaID: "1912475018862166016", MediaKey: "3_1912475018862166016"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Publish(ev)
		}
	})
}
