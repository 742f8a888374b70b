package watcher

import "github.com/fsnotify/fsnotify"

// eventSource is what Run needs from fsnotify. Tests inject a fake to
// deliver an overflow, a watch limit, or no events at all.
type eventSource interface {
	Add(dir string) error
	Remove(dir string) error
	Events() <-chan fsnotify.Event
	Errors() <-chan error
	Close() error
}

// eventBuffer is the userspace event buffer: it lets the fsnotify reader keep
// draining the kernel queue (fs.inotify.max_queued_events) while Run is busy
// scanning, which makes an overflow, and the rescan it costs, rarer.
const eventBuffer = 8192

type fsnotifySource struct{ w *fsnotify.Watcher }

func newFsnotifySource() (eventSource, error) {
	w, err := fsnotify.NewBufferedWatcher(eventBuffer)
	if err != nil {
		return nil, err
	}
	return fsnotifySource{w: w}, nil
}

func (s fsnotifySource) Add(dir string) error          { return s.w.Add(dir) }
func (s fsnotifySource) Remove(dir string) error       { return s.w.Remove(dir) }
func (s fsnotifySource) Events() <-chan fsnotify.Event { return s.w.Events }
func (s fsnotifySource) Errors() <-chan error          { return s.w.Errors }
func (s fsnotifySource) Close() error                  { return s.w.Close() }
