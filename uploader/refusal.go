package uploader

import (
	"errors"
	"net/http"
	"strings"
)

// Refusal is an account-level refusal: X refuses every request of this
// account or token, whatever the file. It is not the file's fault, so it is
// neither permanent for the file ([IsPermanent] is false) nor worth a retry
// inside the call (the client returns it at once); [IsAuth] is true. The
// caller pauses uploads, reports [Refusal.Advice] once and probes until the
// refusal is lifted ([Client.ProbeUpload]).
//
// Classification is by HTTP status and the v2 problem's type or title (v2
// sends 401/403 as plain RFC 7807 problems without errors[].code), plus the
// v1.1 codes v1.1 sends; see [AccountRefusal].
type Refusal string

const (
	// RefusalUnauthorized: the credentials are not accepted. v2 401
	// {"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}
	// (PLhery/node-twitter-api-v2#425, 2022-12-22; xdevplatform/samples#69);
	// v1.1 codes 32 "Could not authenticate you.", 89 "Invalid or expired
	// token.", 135 (clock skew) and 215 "Bad authentication data." (API.md §1.8).
	RefusalUnauthorized Refusal = "unauthorized"
	// RefusalUnsupportedAuth: 403 "Unsupported Authentication", type
	// …/2/problems/unsupported-authentication, detail "Authenticating with
	// OAuth 2.0 Application-Only is forbidden for this endpoint": an app-only
	// bearer token, i.e. the developer portal's "Bearer Token" put where a
	// user token belongs (PLhery/node-twitter-api-v2#475, 2023-05-17;
	// sferik/x-ruby#28, 2024-03-29; API.md §4.4).
	RefusalUnsupportedAuth Refusal = "unsupported-authentication"
	// RefusalClientForbidden: 403 "Client Forbidden", type
	// …/2/problems/client-forbidden, reason "client-not-enrolled",
	// required_enrollment "Appropriate Level of API Access": the app is not
	// attached to a Project (xdevplatform/samples#58, 2021-10-10;
	// michimani/gotwi#311, 2024-03-29). v1.1 says the same with 403 code 453
	// "You currently have access to a subset of Twitter API v2 endpoints and
	// limited v1.1 endpoints … you may need a different access level"
	// (tweepy/tweepy#2117, 2023-05-23; bear/python-twitter#722, 2023-07-12):
	// the app's access level does not include the endpoint.
	RefusalClientForbidden Refusal = "client-forbidden"
	// RefusalMissingScope: 403 {"title":"Forbidden","type":"about:blank"}:
	// the token lacks media.write, or the tier has no media access
	// (PLhery/node-twitter-api-v2#588, changelog "#596 add media write
	// scope"; API.md §4.2); v1.1 codes 220 and 261 (the app may not write).
	RefusalMissingScope Refusal = "missing-scope"
	// RefusalCreditsDepleted: 402, title "CreditsDepleted", type
	// …/2/problems/credits, detail "Your enrolled account … does not have any
	// credits to fulfill this request." (also seen as title "Payment
	// Required", type …/2/problems/credits-depleted): a pay-per-use account
	// out of credits. Any 402 is taken as this.
	RefusalCreditsDepleted Refusal = "credits-depleted"
	// RefusalLoginRequired: the transport could not get a token because the
	// OAuth 2.0 refresh grant was revoked or expired (its error implements
	// LoginRequired() bool, true): only a new login helps.
	RefusalLoginRequired Refusal = "login-required"
)

// Advice returns one actionable sentence for the user.
func (r Refusal) Advice() string {
	switch r {
	case RefusalUnauthorized:
		return "X does not accept the credentials: check that they are current (regenerate them in the developer portal if they were revoked) and that the system clock is right."
	case RefusalUnsupportedAuth:
		return "The token is an app-only bearer token (the developer portal's \"Bearer Token\", often pasted into bearer_token), which X refuses for uploads: run `mediasync auth login` for a user token, or use the OAuth 1.0a access token and secret."
	case RefusalClientForbidden:
		return "The X app is not attached to a Project, or its access level does not include media upload: in the developer portal, add the app to a Project (or change its access level), then keep its keys and tokens."
	case RefusalMissingScope:
		return "The token may not upload media (no media.write scope, or the app is read-only): run `mediasync auth login` again, or give the app Read and Write permission and regenerate the access token."
	case RefusalCreditsDepleted:
		return "The X developer account is out of pay-per-use credits: buy credits or raise the spending limit in the developer console; uploads resume by themselves once X accepts them."
	case RefusalLoginRequired:
		return "The saved X login was revoked or has expired: run `mediasync auth login` to sign in again."
	}
	return "X refused the account's requests; check the credentials and the developer portal."
}

// AccountRefusal reports whether err is an account-level refusal, and which.
// It looks at the HTTP status and the problem's type and title (v2), the
// v1.1 error codes, and, for transport errors, at an error implementing
// interface{ LoginRequired() bool } (the auth package's invalid_grant).
func AccountRefusal(err error) (Refusal, bool) {
	if err == nil {
		return "", false
	}
	var lr interface{ LoginRequired() bool }
	if errors.As(err, &lr) && lr.LoginRequired() {
		return RefusalLoginRequired, true
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return "", false
	}
	return ae.refusal()
}

// refusal classifies one answer; see [AccountRefusal].
func (e *APIError) refusal() (Refusal, bool) {
	switch e.Code {
	case 32, 89, 135, 215:
		return RefusalUnauthorized, true
	case 220, 261:
		return RefusalMissingScope, true
	case 453:
		return RefusalClientForbidden, true
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return RefusalUnauthorized, true
	case http.StatusPaymentRequired:
		return RefusalCreditsDepleted, true
	case http.StatusForbidden:
		switch {
		case problemType(e.Type, "unsupported-authentication") || strings.EqualFold(e.Title, "Unsupported Authentication"):
			return RefusalUnsupportedAuth, true
		case problemType(e.Type, "client-forbidden") || strings.EqualFold(e.Title, "Client Forbidden"):
			return RefusalClientForbidden, true
		case e.Code == 0 && strings.EqualFold(e.Title, "Forbidden") && (e.Type == "" || e.Type == "about:blank"):
			return RefusalMissingScope, true
		}
	}
	return "", false
}

// problemType reports whether a v2 problem type URI names the problem name,
// on either host X uses (https://api.twitter.com/2/problems/NAME,
// https://api.x.com/2/problems/NAME).
func problemType(typ, name string) bool {
	return strings.HasSuffix(typ, "/2/problems/"+name)
}
