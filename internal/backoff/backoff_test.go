package backoff

import (
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{Base: time.Second, Max: time.Minute}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {1000, time.Minute}} {
		if got := p.Ceiling(c.n); got != c.want {
			t.Errorf("Ceiling(%d) = %v, want %v", c.n, got, c.want)
		}
	}
	// Without a cap the growth stops before overflowing.
	if got := (Policy{Base: time.Hour}).Ceiling(200); got <= 0 {
		t.Errorf("uncapped Ceiling(200) = %v, want positive", got)
	}
	if got := (Policy{}).Delay(5); got != 0 {
		t.Errorf("zero policy Delay = %v, want 0", got)
	}
}

func TestDelayWithinBounds(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second, Min: 20 * time.Millisecond}
	seen := map[bool]bool{}
	for n := 1; n <= 8; n++ {
		for range 200 {
			d := p.Delay(n)
			if d < p.Min || d > p.Ceiling(n) {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", n, d, p.Min, p.Ceiling(n))
			}
			seen[d < p.Ceiling(n)/2] = true
		}
	}
	if !seen[true] || !seen[false] {
		t.Error("delays are not spread over the range (no jitter)")
	}
	// A floor above the ceiling gives the ceiling.
	if got := (Policy{Base: time.Second, Min: time.Minute}).Delay(1); got != time.Second {
		t.Errorf("Delay with Min > ceiling = %v, want 1s", got)
	}
}
