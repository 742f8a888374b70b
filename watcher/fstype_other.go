//go:build !linux && !darwin

package watcher

// remoteFS cannot tell the filesystem type on this platform; auto mode
// watches every root there (set Mode "poll" for network shares).
func remoteFS(path string) (string, bool, error) { return "", false, nil }
