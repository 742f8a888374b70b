package agent

// Queued returns, for each folder with files waiting for a worker in the running agent (queued,
// not in flight), how many; nil when [Agent.Run] is not running. For the status page's per-folder
// queue; it costs a pass over the queue under its lock, never I/O.
func (a *Agent) Queued() map[string]int {
	s := a.running.Load()
	if s == nil {
		return nil
	}
	out := map[string]int{}
	s.queue.mu.Lock()
	defer s.queue.mu.Unlock()
	for _, j := range s.queue.items {
		if !j.flush {
			out[j.f.Path]++
		}
	}
	return out
}
