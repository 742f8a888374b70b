// Package backoff computes retry delays: exponential growth with full jitter, so that many
// clients (files, segments, processes) that failed together do not retry together.
//
// A [Policy] says where the delays start (Base) and where they stop growing (Max). Attempt n waits
// a uniformly random time in [Min, min(Max, Base·2ⁿ⁻¹)] ("full jitter", AWS Architecture Blog,
// "Exponential Backoff And Jitter", 2015). It has no state and starts no goroutine: the caller
// keeps the attempt count (the agent keeps it in the manifest, so it survives restarts) and does
// the waiting, on its own clock.
package backoff
