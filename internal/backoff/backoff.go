package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff with full jitter. The zero value never waits.
type Policy struct {
	Base time.Duration // ceiling of the first delay
	Max  time.Duration // ceiling of every delay; 0 = no cap beyond the growth
	Min  time.Duration // floor of every delay (0: full jitter down to zero); capped by the ceiling
}

// Ceiling is the largest delay attempt n (1-based) may get: Base·2ⁿ⁻¹, capped at Max, without
// overflowing for any n.
func (p Policy) Ceiling(n int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	n = max(n, 1)
	d := p.Base
	for i := 1; i < n; i++ {
		if p.Max > 0 && d >= p.Max {
			break
		}
		if d > time.Duration(1<<62)/2 { // doubling would overflow
			break
		}
		d *= 2
	}
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	return d
}

// Delay returns the wait before retry n (n = the number of failures so far, from 1): uniformly
// random in [Min, Ceiling(n)].
func (p Policy) Delay(n int) time.Duration {
	ceil := p.Ceiling(n)
	floor := min(p.Min, ceil)
	if ceil <= floor {
		return ceil
	}
	return floor + rand.N(ceil-floor+1)
}
