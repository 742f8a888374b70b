package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestOmitCheckAfter: with omit_check_after, processing_info of a video in
// processing never carries check_after_secs (tweepy PR #2050), on either
// API version; without it, it does.
func TestOmitCheckAfter(t *testing.T) {
	for _, omit := range []bool{false, true} {
		t.Run(fmt.Sprint("omit=", omit), func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{ProcessingTime: 10 * time.Second, OmitCheckAfter: omit}})
			mp4 := mediagen.MP4(100000, 3)
			id, fin := e.v2Upload(mp4, "video/mp4", "tweet_video", 64<<10)
			v11ID, v11Fin := e.v11Chunked(mp4, "video/mp4", "tweet_video", 64<<10)
			infos := []map[string]any{
				fin.data(t)["processing_info"].(map[string]any),
				v11Fin.json(t)["processing_info"].(map[string]any),
			}
			e.clock.Advance(5 * time.Second)
			infos = append(infos,
				e.get("/2/media/upload?command=STATUS&media_id=" + id).data(t)["processing_info"].(map[string]any),
				e.get("/1.1/media/upload.json?command=STATUS&media_id=" + v11ID).json(t)["processing_info"].(map[string]any))
			for i, pi := range infos {
				_, has := pi["check_after_secs"]
				if has == omit {
					t.Errorf("answer %d processing_info %v: check_after_secs present = %v, want %v", i, pi, has, !omit)
				}
				if st := str(pi["state"]); st != "pending" && st != "in_progress" {
					t.Errorf("answer %d state %q, want pending or in_progress", i, st)
				}
			}
		})
	}
}

// TestStuckWithError: with stuck_with_error, processing that would end stays
// in_progress at 99 % with an error object and no check_after_secs
// (twitteroauth#1185, twython#549), however long one waits; MediaInfo says
// in_progress too.
func TestStuckWithError(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{ProcessingTime: 2 * time.Second, StuckWithError: true}})
	id, _ := e.v2Upload(mediagen.MP4(100000, 4), "video/mp4", "tweet_video", 64<<10)
	v11ID, _ := e.v11Chunked(mediagen.MP4(100000, 5), "video/mp4", "tweet_video", 64<<10)
	for _, wait := range []time.Duration{2 * time.Second, 10 * time.Minute} { // (within the OAuth timestamp window)
		e.clock.Advance(wait)
		for _, pi := range []any{
			e.get("/2/media/upload?command=STATUS&media_id=" + id).data(t)["processing_info"],
			e.get("/1.1/media/upload.json?command=STATUS&media_id=" + v11ID).json(t)["processing_info"],
		} {
			got, _ := json.Marshal(pi)
			want := `{"error":{"code":1,"message":"file is invalid","name":"InvalidMedia"},"progress_percent":99,"state":"in_progress"}`
			if string(got) != want {
				t.Errorf("after %v: processing_info %s, want %s", wait, got, want)
			}
		}
	}
	if mi, _ := e.s.MediaByID(id); mi.State != "in_progress" {
		t.Errorf("MediaByID state %q, want in_progress", mi.State)
	}
	// The knob is taken when FINALIZE starts processing: media finalized
	// after it is lifted processes normally.
	e.s.SetFaults(Faults{ProcessingTime: 2 * time.Second})
	id2, _ := e.v2Upload(mediagen.MP4(100000, 6), "video/mp4", "tweet_video", 64<<10)
	e.clock.Advance(2 * time.Second)
	if pi := e.get("/2/media/upload?command=STATUS&media_id=" + id2).data(t)["processing_info"].(map[string]any); str(pi["state"]) != "succeeded" {
		t.Errorf("after lifting: %v, want succeeded", pi)
	}
}

// dayHeaders returns the 24-hour headers of an answer.
func dayHeaders(a answer) (app, appLeft, user, userLeft, appReset string) {
	h := a.header
	return h.Get("x-app-limit-24hour-limit"), h.Get("x-app-limit-24hour-remaining"),
		h.Get("x-user-limit-24hour-limit"), h.Get("x-user-limit-24hour-remaining"), h.Get("x-app-limit-24hour-reset")
}

// TestDailyBudgetDefaults: v2 media answers carry X's 24-hour caps per
// endpoint (API.md §4.3) in x-app-limit-24hour-* and x-user-limit-24hour-*,
// resetting 24 hours after the first request; users/me and v1.1 carry none.
func TestDailyBudgetDefaults(t *testing.T) {
	e := newEnv(t, Options{})
	start := e.clock.Now()
	init := e.v2Init("image/png", 10, "tweet_image")
	app, appLeft, user, userLeft, reset := dayHeaders(init)
	if app != "180000" || appLeft != "179999" || user != "180000" || userLeft != "179999" {
		t.Errorf("initialize: app %s/%s user %s/%s, want 180000/179999 both", appLeft, app, userLeft, user)
	}
	if r, _ := strconv.ParseInt(reset, 10, 64); r != start.Add(24*time.Hour).Unix() {
		t.Errorf("x-app-limit-24hour-reset %s, want %d", reset, start.Add(24*time.Hour).Unix())
	}
	if init.header.Get("x-rate-limit-limit") != "1875" {
		t.Errorf("x-rate-limit-limit %s, want 1875 alongside", init.header.Get("x-rate-limit-limit"))
	}
	one := e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", mediagen.PNG(8, 8, 1))
	if app, _, user, _, _ := dayHeaders(one); app != "50000" || user != "50000" {
		t.Errorf("one-shot: app %s user %s, want 50000", app, user)
	}
	vid, _ := e.v2Upload(mediagen.MP4(50000, 2), "video/mp4", "tweet_video", 64<<10)
	if app, _, _, _, _ := dayHeaders(e.get("/2/media/upload?command=STATUS&media_id=" + vid)); app != "100000" {
		t.Errorf("STATUS: app %s, want 100000", app)
	}
	for _, path := range []string{"/2/users/me", "/1.1/account/verify_credentials.json"} {
		if app, _, user, _, _ := dayHeaders(e.get(path)); app+user != "" {
			t.Errorf("%s carries 24-hour headers %q %q", path, app, user)
		}
	}
}

// TestDailyBudgetSpent: with daily_app_limit / daily_user_limit and a short
// daily_window, the request after the cap is 429 in v2's shape with the
// 24-hour headers (the spent one at 0) and x-rate-limit-* as usual, spends
// nothing, and the window's end restores the budget.
func TestDailyBudgetSpent(t *testing.T) {
	tests := []struct {
		name       string
		faults     Faults
		allowed    int
		spentApp   bool // which header reaches 0
		wantLimits [2]string
	}{
		{"app", Faults{DailyAppLimit: 3, DailyWindow: time.Minute}, 3, true, [2]string{"3", "180000"}},
		{"user", Faults{DailyUserLimit: 2, DailyWindow: time.Minute}, 2, false, [2]string{"180000", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			body, _ := json.Marshal(tt.faults)
			if code, b := e.admin("POST", "/_emulator/faults", string(body)); code != 200 {
				t.Fatalf("POST faults %s = %d %s", body, code, b)
			}
			for i := range tt.allowed {
				if a := e.v2Init("image/png", 10, ""); a.status != 200 {
					t.Fatalf("request %d: %d %s", i, a.status, a.body)
				}
			}
			a := e.v2Init("image/png", 10, "")
			if a.status != http.StatusTooManyRequests || string(a.body) != `{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}` {
				t.Fatalf("request past the daily cap = %d %s, want v2's 429", a.status, a.body)
			}
			app, appLeft, user, userLeft, _ := dayHeaders(a)
			if app != tt.wantLimits[0] || user != tt.wantLimits[1] {
				t.Errorf("limits app %s user %s, want %v", app, user, tt.wantLimits)
			}
			if (tt.spentApp && appLeft != "0") || (!tt.spentApp && userLeft != "0") {
				t.Errorf("remaining app %s user %s: want the spent one at 0", appLeft, userLeft)
			}
			if got, want := a.header.Get("x-rate-limit-remaining"), strconv.Itoa(1875-tt.allowed); got != want || a.header.Get("x-rate-limit-reset") == "" {
				t.Errorf("x-rate-limit-remaining %s (reset %q), want %s: the refused request spends nothing", got, a.header.Get("x-rate-limit-reset"), want)
			}
			// Other endpoints have their own daily budgets.
			if a := e.get("/2/users/me"); a.status != 200 {
				t.Errorf("users/me while initialize is capped = %d", a.status)
			}
			e.clock.Advance(time.Minute)
			a = e.v2Init("image/png", 10, "")
			if a.status != 200 {
				t.Fatalf("after the daily window: %d %s", a.status, a.body)
			}
			if _, appLeft, _, userLeft, _ := dayHeaders(a); appLeft == "0" || userLeft == "0" {
				t.Errorf("after the daily window remaining app %s user %s", appLeft, userLeft)
			}
		})
	}
}

func TestDailyAndProcessingKnobsJSON(t *testing.T) {
	in := `{"omit_check_after":true,"stuck_with_error":true,"daily_app_limit":5,"daily_user_limit":4,"daily_window":"90s"}`
	var f Faults
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	want := Faults{OmitCheckAfter: true, StuckWithError: true, DailyAppLimit: 5, DailyUserLimit: 4, DailyWindow: 90 * time.Second}
	if f != want {
		t.Errorf("decoded %+v, want %+v", f, want)
	}
	out, _ := json.Marshal(f)
	var back Faults
	if err := json.Unmarshal(out, &back); err != nil || back != want {
		t.Errorf("round trip %s = %+v (%v)", out, back, err)
	}
	for _, bad := range []Faults{{DailyAppLimit: -1}, {DailyUserLimit: -1}, {DailyWindow: -time.Second}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
