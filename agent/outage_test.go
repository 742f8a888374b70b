package agent

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/mediasync/mediasync/auth"
)

// A token endpoint that is down (auth's temporary RefreshError, as http.Client returns it) is an
// outage, like X's own 5xx: it says nothing about the file.
func TestRefreshFailureIsOutage(t *testing.T) {
	err := fmt.Errorf("APPEND: %w", &url.Error{Op: "Post", URL: "https://api.x.com/2/media/upload",
		Err: &auth.RefreshError{Failures: 3, Next: time.Now().Add(time.Minute), Err: errors.New("token endpoint: 503")}})
	if !outage(err) {
		t.Errorf("outage(%v) = false, want true", err)
	}
}
