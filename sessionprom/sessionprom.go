// Package sessionprom exports the life of sessionkit sessions and the
// latency of their store as Prometheus metrics.
//
// A Collector counts the events the manager reports through Config.OnEvent
// and times every call of a store wrapped with WrapStore:
//
//	metrics := sessionprom.New(sessionprom.Options{})
//	prometheus.MustRegister(metrics)
//	sessions, err := sessionkit.New(sessionkit.Config{
//		Store:   metrics.WrapStore(store),
//		OnEvent: metrics.Chain(nil), // or Chain(yourOnEvent)
//	})
//
// With the default namespace the metrics are:
//
//	sessionkit_sessions_created_total                          sessions created
//	sessionkit_sessions_renewed_total                          sessions given a new token
//	sessionkit_sessions_destroyed_total{reason}                sessions ended, by reason (see below)
//	sessionkit_sessions_expired_total{reason}                  sessions found expired (by a request, Manager.Sweep or a revocation)
//	sessionkit_session_tokens_rejected_total{reason}           session cookies the manager refused
//	sessionkit_session_store_duration_seconds{op,outcome}      latency of each store call
//
// The reasons are those of sessionkit.Event. The rejected-tokens counter
// counts the cookie values that named no session, one per EventRejected:
// reason="forged" or "unknown" (sessionkit.RejectedForged,
// sessionkit.RejectedUnknown), both exported at zero from the start. A
// client store cannot tell forged from unknown and reports both as
// unknown. A cookie whose session has expired is counted once, as an
// expired session, whether a request, Manager.Sweep or a revocation found
// it. A record that a store's
// garbage collection (a Redis TTL, memstore's cleanup) deletes before a
// request or a Sweep finds it is reported to the manager as absent, so it
// counts as unknown, not expired: run Manager.Sweep more often than the
// store's KeepExpired so that every expiry is counted.
//
// The destroyed counter's reason is one of sessionkit's reasons of
// EventDestroyed: "destroy", "revoked", "session limit", "logout" or
// "password change" (sessionkit.ReasonDestroy, ReasonRevoked,
// ReasonSessionLimit, ReasonLogout, ReasonPasswordChange); any other reason
// an application gives through sessionkit.WithReason or Session.SetReason
// counts as "other", so that the label's values stay few.
//
// Revocations count one per ended session: RevokeUserSessions and
// RevokeOtherSessions add one to sessions_destroyed_total{reason="revoked"}
// for every session they end (with a client store, which cannot count
// them, one per call).
//
// The op and outcome labels are the names of storewrap.Op and
// storewrap.Outcome: op is load, create, update, touch, delete,
// list_by_user, delete_by_user, iterate, link_user or remove; outcome is
// ok, not_found (also a Load that found no session, or a Remove that
// removed none), exists, too_many_sessions
// (a login refused by Config.MaxSessionsPerUser), unavailable, canceled or
// error.
//
// Counting adds no allocation to a request: the store observers are
// resolved when the Collector is created, whether or not it is ever
// registered.
package sessionprom

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/storewrap"
)

// DefaultBuckets are the store latency histogram's default buckets, in
// seconds: from half a millisecond (an in-memory or nearby Redis store) to
// 2.5 seconds.
var DefaultBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Options configures a Collector. The zero value is ready to use.
type Options struct {
	// Namespace is the first part of every metric name (default
	// "sessionkit").
	Namespace string
	// Buckets are the upper bounds of the store latency histogram, in
	// seconds (default DefaultBuckets).
	Buckets []float64
	// ConstLabels are added to every metric, for example to tell two
	// managers in one registry apart.
	ConstLabels prometheus.Labels
}

// Collector is a prometheus.Collector of session metrics. Create it with
// New, register it, set its Chain as Config.OnEvent and wrap the store
// with WrapStore. It is safe for concurrent use.
type Collector struct {
	created, renewed   prometheus.Counter
	destroyed, expired *prometheus.CounterVec
	rejected           *prometheus.CounterVec
	latency            *prometheus.HistogramVec
	observers          observers
}

// New returns a Collector.
func New(opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = "sessionkit"
	}
	buckets := opts.Buckets
	if buckets == nil {
		buckets = DefaultBuckets
	}
	counter := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: opts.ConstLabels}
	}
	c := &Collector{
		created: prometheus.NewCounter(counter("sessions_created_total", "Sessions created.")),
		renewed: prometheus.NewCounter(counter("sessions_renewed_total", "Sessions given a new token (login, privilege change).")),
		destroyed: prometheus.NewCounterVec(counter("sessions_destroyed_total",
			"Sessions ended by Destroy or a revocation, by reason."), []string{"reason"}),
		expired: prometheus.NewCounterVec(counter("sessions_expired_total",
			"Sessions found expired (by a request, a sweep or a revocation), by reason."), []string{"reason"}),
		rejected: prometheus.NewCounterVec(counter("session_tokens_rejected_total",
			"Session cookies that named no session, by reason: forged or unknown."), []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "session_store_duration_seconds", ConstLabels: opts.ConstLabels,
			Help:    "Latency of session store calls, by operation and outcome.",
			Buckets: buckets,
		}, []string{"op", "outcome"}),
	}
	for _, reason := range []string{sessionkit.RejectedForged, sessionkit.RejectedUnknown} {
		c.rejected.WithLabelValues(reason) // exported at zero from the start
	}
	for op := range storewrap.Op(storewrap.NumOps) {
		for outcome := range storewrap.Outcome(storewrap.NumOutcomes) {
			c.observers[op][outcome] = c.latency.WithLabelValues(op.String(), outcome.String())
		}
	}
	return c
}

func (c *Collector) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.created, c.renewed, c.destroyed, c.expired, c.rejected, c.latency}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.collectors() {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.collectors() {
		m.Collect(ch)
	}
}

// OnEvent counts e. Use it as Config.OnEvent, or through Chain when the
// application has its own OnEvent.
func (c *Collector) OnEvent(_ context.Context, e sessionkit.Event) {
	switch e.Kind {
	case sessionkit.EventCreated:
		c.created.Inc()
	case sessionkit.EventRenewed:
		c.renewed.Inc()
	case sessionkit.EventDestroyed:
		c.destroyed.WithLabelValues(destroyReason(e.Reason)).Inc()
	case sessionkit.EventExpired:
		c.expired.WithLabelValues(e.Reason).Inc()
	case sessionkit.EventRejected:
		c.rejected.WithLabelValues(e.Reason).Inc()
	}
}

// destroyReason returns the label of a reason of EventDestroyed: the
// reason if sessionkit names it, "other" otherwise.
func destroyReason(reason string) string {
	switch reason {
	case sessionkit.ReasonDestroy, sessionkit.ReasonRevoked, sessionkit.ReasonSessionLimit,
		sessionkit.ReasonLogout, sessionkit.ReasonPasswordChange:
		return reason
	}
	return "other"
}

// Chain returns an OnEvent function that counts each event and then passes
// it to next, which may be nil:
//
//	cfg.OnEvent = metrics.Chain(cfg.OnEvent)
func (c *Collector) Chain(next func(context.Context, sessionkit.Event)) func(context.Context, sessionkit.Event) {
	if next == nil {
		return c.OnEvent
	}
	return func(ctx context.Context, e sessionkit.Event) {
		c.OnEvent(ctx, e)
		next(ctx, e)
	}
}

// WrapStore returns s with every call timed into the latency histogram.
// The result has exactly the optional capabilities of s (UserIndex,
// Iterator, SessionLimiter, Remover, io.Closer); see package storewrap.
func (c *Collector) WrapStore(s sessionkit.Store) sessionkit.Store {
	return storewrap.Wrap(s, &c.observers)
}

// observers holds the histogram's observer for each op and outcome,
// resolved once so that timing a call allocates nothing.
type observers [storewrap.NumOps][storewrap.NumOutcomes]prometheus.Observer

// Start implements storewrap.Observer.
func (o *observers) Start(ctx context.Context, _ storewrap.Op) context.Context { return ctx }

// Done implements storewrap.Observer.
func (o *observers) Done(_ context.Context, call storewrap.Call) {
	o[call.Op][call.Outcome].Observe(time.Since(call.Start).Seconds())
}
