package sessionkit

import (
	"context"
	"log/slog"
)

// EventKind says what happened to a session.
type EventKind int

// The kinds of Event.
const (
	EventCreated   EventKind = iota + 1 // a new session was stored
	EventRenewed                        // a session got a new token
	EventDestroyed                      // a session was ended by Destroy or a revocation
	EventExpired                        // a request carried a session that had expired
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
	// UserID is the linked user, if any.
	UserID string
	// Reason says why a session was destroyed or expired, such as "destroy",
	// "idle timeout" or "absolute timeout", or why a token was rejected:
	// RejectedForged or RejectedUnknown.
	Reason string
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
// Config.OnEvent). The log never carries a token nor a store key.
type events struct {
	log *slog.Logger
	on  func(context.Context, Event)
}

// lifecycle logs e at Info, with the user, client IP and User-Agent from
// meta (see DefaultMetadata), and reports it.
func (ev events) lifecycle(ctx context.Context, e Event, meta map[string]string) {
	ev.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session "+e.Kind.String(),
		slog.String("user", e.UserID), slog.String("reason", e.Reason),
		slog.String("ip", meta["ip"]), slog.String("user_agent", meta["ua"]))
	ev.emit(ctx, e)
}

// rejected logs a cookie value that named no session at Info, without the
// value, and reports EventRejected with the store key, if known.
func (ev events) rejected(ctx context.Context, reason, key string, meta map[string]string) {
	ev.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session token rejected",
		slog.String("reason", reason), slog.String("ip", meta["ip"]), slog.String("user_agent", meta["ua"]))
	ev.emit(ctx, Event{Kind: EventRejected, ID: key, Reason: reason})
}

// revoked reports EventDestroyed for each session that a revocation of
// userID's sessions ended; a client store, which cannot name them (n < 0),
// gets one event without an ID.
func (ev events) revoked(ctx context.Context, userID string, n int, ended []string) {
	if n < 0 {
		ended = []string{""}
	}
	for _, id := range ended {
		ev.lifecycle(ctx, Event{Kind: EventDestroyed, ID: id, UserID: userID, Reason: "revoked"}, nil)
	}
}

func (ev events) emit(ctx context.Context, e Event) {
	if ev.on != nil {
		ev.on(ctx, e)
	}
}
