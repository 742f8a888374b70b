package emulator

import "net/http"

// Account-level refusals: answers X gives to every request of an account or
// app whatever the request, as opposed to a problem with one request. The
// v2 shapes below are X's, byte for byte where a recording exists; the
// sources are in each comment. v1.1 keeps its {"errors":[{"code":…}]}
// shape.

// accountRefusal is one of the refusals Faults can switch on.
type accountRefusal int

const (
	refuseNone accountRefusal = iota
	refuseUnsupportedAuth
	refuseClientForbidden
	refuseMissingScope
	refuseCreditsDepleted
)

// accountRefusal picks the refusal in force, if any. When several are on,
// the one X would check first wins: the kind of authentication, then the
// app's enrolment, then the token's scopes, then billing.
func (f Faults) accountRefusal() accountRefusal {
	switch {
	case f.UnsupportedAuthentication:
		return refuseUnsupportedAuth
	case f.ClientForbidden:
		return refuseClientForbidden
	case f.MissingScope:
		return refuseMissingScope
	case f.CreditsDepleted:
		return refuseCreditsDepleted
	}
	return refuseNone
}

// refuseAccount answers an authenticated API request with the account-level
// refusal in force and reports whether it did. Such an answer never reaches
// an endpoint's budget, so it carries no x-rate-limit-* headers.
func (c *call) refuseAccount(r accountRefusal) bool {
	switch r {
	case refuseUnsupportedAuth:
		c.unsupportedAuth()
	case refuseClientForbidden:
		c.clientForbidden()
	case refuseMissingScope:
		c.missingScope()
	case refuseCreditsDepleted:
		c.creditsDepleted()
	default:
		return false
	}
	return true
}

// unsupportedAuth answers a request made with an app-only bearer token (the
// developer portal's "Bearer Token") to an endpoint that needs a user.
//
// v2: 403, as quoted in myConsciousness/twitter-api-v2#610 (2022-12-30) and
// in the gotwtr and other client fixtures:
//
//	{"title":"Unsupported Authentication","detail":"Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].","type":"https://api.twitter.com/2/problems/unsupported-authentication","status":403}
//
// (two spaces after the first sentence, as X sends it). v1.1: 403 code 220
// "Your credentials do not allow access to this resource." (API.md §1.8).
func (c *call) unsupportedAuth() {
	if c.ver == v11 {
		c.v11Error(http.StatusForbidden, 220, "Your credentials do not allow access to this resource.")
		return
	}
	c.writeJSON(http.StatusForbidden, "application/json; charset=utf-8", struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Type   string `json:"type"`
		Status int    `json:"status"`
	}{
		Title:  "Unsupported Authentication",
		Detail: "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
		Type:   "https://api.twitter.com/2/problems/unsupported-authentication",
		Status: http.StatusForbidden,
	})
}

// clientForbidden answers for an app that is not attached to a Project (or
// lacks the access level the endpoint needs).
//
// v2: 403 with no "status" member, as recorded in
// xdevplatform/twitter-api-java-sdk#67 (2023-10-30), redouane59/twittered#456
// (2024-01-14) and xdevplatform/samples#160 (2024-07-01):
//
//	{"client_id":"28251539","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.","registration_url":"https://developer.twitter.com/en/docs/projects/overview","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}
//
// client_id is the app's numeric id; the emulator sends a fixed one. v1.1:
// 403 code 453, the access-level refusal quoted in sferik/twitter-ruby#1036
// (2023-06-19) and many client fixtures.
func (c *call) clientForbidden() {
	if c.ver == v11 {
		c.v11Error(http.StatusForbidden, 453, "You currently have access to a subset of Twitter API v2 endpoints and limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to this endpoint, you may need a different access level. You can learn more here: https://developer.twitter.com/en/portal/product")
		return
	}
	c.writeJSON(http.StatusForbidden, "application/json; charset=utf-8", struct {
		ClientID           string `json:"client_id"`
		Detail             string `json:"detail"`
		RegistrationURL    string `json:"registration_url"`
		Title              string `json:"title"`
		RequiredEnrollment string `json:"required_enrollment"`
		Reason             string `json:"reason"`
		Type               string `json:"type"`
	}{
		ClientID:           emulatorClientID,
		Detail:             "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
		RegistrationURL:    "https://developer.twitter.com/en/docs/projects/overview",
		Title:              "Client Forbidden",
		RequiredEnrollment: "Appropriate Level of API Access",
		Reason:             "client-not-enrolled",
		Type:               "https://api.twitter.com/2/problems/client-forbidden",
	})
}

// emulatorClientID is the app id client-forbidden answers name.
const emulatorClientID = "28251539"

// missingScope answers for an OAuth 2.0 user token without media.write (or
// an app whose permissions do not allow writing).
//
// v2: 403 application/problem+json
// {"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}
// (PLhery/node-twitter-api-v2#588, API.md §4.2; makerprism/ocaml-social-sdk#25,
// 2025-12-05, traces it to a token without media.write). v1.1: 403 code 220,
// the credentials-do-not-allow refusal (API.md §1.8).
func (c *call) missingScope() {
	if c.ver == v11 {
		c.v11Error(http.StatusForbidden, 220, "Your credentials do not allow access to this resource.")
		return
	}
	c.plainProblem(http.StatusForbidden)
}

// creditsDepleted answers for a pay-per-use account out of credits, on both
// API versions (billing sits in front of every endpoint; no v1.1 shape is
// known). 402 application/json; charset=utf-8:
//
//	{"title":"CreditsDepleted","detail":"Your enrolled account [1553086854915936256] does not have any credits to fulfill this request.","type":"https://api.twitter.com/2/problems/credits"}
//
// Title, type and detail as quoted in client fixtures of 2026 (e.g. a
// connector test stubbing X's answer for account 1553086854915936256; the
// same title and type in many others); with a 19-digit account id this body
// is 185 bytes, the Content-Length of the real answers recorded in
// tryethernal/ethernal#1307 and #1324 (2026-05/06), whose content type it
// also takes. The account is the user the access token names.
func (c *call) creditsDepleted() {
	c.writeJSON(http.StatusPaymentRequired, "application/json; charset=utf-8", struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Type   string `json:"type"`
	}{
		Title:  "CreditsDepleted",
		Detail: "Your enrolled account [" + c.s.userID() + "] does not have any credits to fulfill this request.",
		Type:   "https://api.twitter.com/2/problems/credits",
	})
}
