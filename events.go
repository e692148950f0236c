package sessionkit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

// EventKind says what happened to a session.
type EventKind int

// The kinds of Event.
const (
	EventCreated   EventKind = iota + 1 // a new session was stored
	EventRenewed                        // a session got a new token
	EventDestroyed                      // a session was ended by Destroy or a revocation
	EventExpired                        // a session was found expired: by a request, Manager.Sweep or a revocation
	EventRejected                       // a request carried a forged or unknown token
)

// String returns the kind's name, such as "created".
func (k EventKind) String() string {
	if k >= EventCreated && k <= EventRejected {
		return [...]string{"created", "renewed", "destroyed", "expired", "rejected"}[k-EventCreated]
	}
	return "unknown"
}

// Event reports a change in a session's life. It never carries the token.
type Event struct {
	Kind EventKind
	// ID is the session's store key (Tokens.StoreKey); for EventRejected,
	// that of an unknown token, empty for a forged one or a client store.
	// With package express's scheme it is as secret as the cookie.
	ID string
	// Previous is, for EventRenewed, the store key the session had before.
	Previous string
	// UserID is the linked user, if any.
	UserID string
	// Reason says why a session was destroyed (ReasonDestroy, ReasonRevoked,
	// ReasonSessionLimit, or what WithReason or Session.SetReason gave) or
	// expired ("idle timeout", "absolute timeout"), or why a token was
	// rejected: RejectedForged or RejectedUnknown.
	Reason string
}

// Reasons of EventDestroyed. ReasonLogout and ReasonPasswordChange are for
// the application to give (WithReason, Session.SetReason).
const (
	ReasonDestroy        = "destroy"         // Session.Destroy
	ReasonRevoked        = "revoked"         // a revocation of sessions
	ReasonLogout         = "logout"          // the user signed out
	ReasonPasswordChange = "password change" // the user's password changed
)

type reasonKey struct{}

// WithReason returns a copy of ctx that makes the sessions ended with it by
// Manager.RevokeSession or Manager.RevokeUserSessions report reason as the
// Reason of their EventDestroyed, such as ReasonPasswordChange. Session
// methods use the request's context: see Session.SetReason. It never
// overrides ReasonSessionLimit.
func WithReason(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, reasonKey{}, reason)
}

// logID is how the log names a store key: the first 16 hex digits of
// HMAC-SHA256 under Config.LogKey over the key. It links the lines of a
// session without revealing the key (with package express's scheme, the
// session ID itself), and without LogKey nobody, not even who holds the
// store, can tell which record a line is about. It is computed only when
// a handler formats the record.
type logID struct {
	key []byte // Config.LogKey, or the random key New made
	s   string
}

// LogValue implements slog.LogValuer.
func (l logID) LogValue() slog.Value {
	if l.s == "" {
		return slog.StringValue("")
	}
	mac := hmac.New(sha256.New, l.key)
	mac.Write([]byte(l.s))
	return slog.StringValue(hex.EncodeToString(mac.Sum(nil)[:8]))
}

// The reasons of EventRejected.
const (
	// RejectedForged is a cookie value that does not decode or whose
	// signature does not verify: not a token the server could have issued.
	RejectedForged = "forged"
	// RejectedUnknown is a well-formed token that names no session (never
	// issued, or ended), and every value a client store cannot open.
	RejectedUnknown = "unknown"
)

// events logs and reports what happens to sessions (Config.Logger and
// Config.OnEvent). The log never carries a token nor a store key, only
// their logID.
type events struct {
	log *slog.Logger
	on  func(context.Context, Event)
	key []byte // keys logID: Config.LogKey, or a random key
}

// id returns the logID of s.
func (ev events) id(s string) logID { return logID{ev.key, s} }

// lifecycle logs e at Info, with its logID as "session" (and "previous"
// for a renewal), the user, the client IP and User-Agent from meta (see
// DefaultMetadata), and reports it. An EventDestroyed takes the reason
// WithReason put into ctx.
func (ev events) lifecycle(ctx context.Context, e Event, meta map[string]string) {
	if r, ok := ctx.Value(reasonKey{}).(string); ok && r != "" && e.Kind == EventDestroyed && e.Reason != ReasonSessionLimit {
		e.Reason = r
	}
	ev.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session "+e.Kind.String(),
		slog.Any("session", ev.id(e.ID)), slog.Any("previous", ev.id(e.Previous)),
		slog.String("user", e.UserID), slog.String("reason", e.Reason),
		slog.String("ip", meta["ip"]), slog.String("user_agent", meta["ua"]))
	ev.emit(ctx, e)
}

// rejected logs a cookie value that named no session at Info, without the
// value, and reports EventRejected with the store key, if known.
func (ev events) rejected(ctx context.Context, reason, key string, meta map[string]string) {
	ev.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session token rejected",
		slog.Any("session", ev.id(key)), slog.String("reason", reason), slog.String("ip", meta["ip"]), slog.String("user_agent", meta["ua"]))
	ev.emit(ctx, Event{Kind: EventRejected, ID: key, Reason: reason})
}

func (ev events) emit(ctx context.Context, e Event) {
	if ev.on != nil {
		ev.on(ctx, e)
	}
}
