package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/sessionkit"
)

// metrics are the app's Prometheus collectors.
type metrics struct {
	created, renewed *prometheus.CounterVec
	destroyed        *prometheus.CounterVec
	expired          *prometheus.CounterVec
	logins           *prometheus.CounterVec
	registrations    *prometheus.CounterVec
	storeLatency     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_sessions_created_total", Help: "Sessions created.",
		}, nil),
		renewed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_sessions_renewed_total", Help: "Sessions given a new token (login, password change).",
		}, nil),
		destroyed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_sessions_destroyed_total", Help: "Sessions ended by logout or revocation, by reason.",
		}, []string{"reason"}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_sessions_expired_total", Help: "Requests that carried an expired session, by reason.",
		}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_logins_total", Help: "Login attempts by result: succeeded, failed, rate_limited, unavailable (no password hashing slot).",
		}, []string{"result"}),
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_registrations_total", Help: "Registration attempts by result: succeeded, rejected, rate_limited.",
		}, []string{"result"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authserver_session_store_duration_seconds",
			Help:    "Latency of session store operations, by operation and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.created, m.renewed, m.destroyed, m.expired, m.logins, m.registrations, m.storeLatency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"succeeded", "failed", "rate_limited", "unavailable"} {
		m.logins.WithLabelValues(r)
	}
	m.created.WithLabelValues()
	m.renewed.WithLabelValues()
	return m, nil
}

func (m *metrics) onEvent(_ context.Context, e sessionkit.Event) {
	switch e.Kind {
	case sessionkit.EventCreated:
		m.created.WithLabelValues().Inc()
	case sessionkit.EventRenewed:
		m.renewed.WithLabelValues().Inc()
	case sessionkit.EventDestroyed:
		m.destroyed.WithLabelValues(e.Reason).Inc()
	case sessionkit.EventExpired:
		m.expired.WithLabelValues(e.Reason).Inc()
	}
}

// instrumented wraps a Store to time every call. It always offers the
// per-user index, answering sessionkit.ErrNotSupported when the wrapped
// store lacks it.
type instrumented struct {
	s   sessionkit.Store
	idx sessionkit.UserIndex
	h   *prometheus.HistogramVec
}

func instrument(s sessionkit.Store, h *prometheus.HistogramVec) sessionkit.Store {
	idx, _ := s.(sessionkit.UserIndex)
	return &instrumented{s: s, idx: idx, h: h}
}

// observe records a call that started at start; it runs deferred, so it
// takes the address of the call's named error result.
func (i *instrumented) observe(op string, start time.Time, err *error) {
	outcome := "ok"
	if *err != nil {
		outcome = "error"
	}
	i.h.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

func (i *instrumented) Load(ctx context.Context, id string) (rec *sessionkit.Record, err error) {
	defer i.observe("load", time.Now(), &err)
	return i.s.Load(ctx, id)
}

func (i *instrumented) Create(ctx context.Context, rec *sessionkit.Record) (err error) {
	defer i.observe("create", time.Now(), &err)
	return i.s.Create(ctx, rec)
}

func (i *instrumented) Update(ctx context.Context, id string, d sessionkit.Delta) (err error) {
	defer i.observe("update", time.Now(), &err)
	return i.s.Update(ctx, id, d)
}

func (i *instrumented) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) (err error) {
	defer i.observe("touch", time.Now(), &err)
	return i.s.Touch(ctx, id, lastSeen, expiresAt)
}

func (i *instrumented) Delete(ctx context.Context, id string) (err error) {
	defer i.observe("delete", time.Now(), &err)
	return i.s.Delete(ctx, id)
}

func (i *instrumented) ListByUser(ctx context.Context, userID string) (list []sessionkit.SessionInfo, err error) {
	if i.idx == nil {
		return nil, sessionkit.ErrNotSupported
	}
	defer i.observe("list_by_user", time.Now(), &err)
	return i.idx.ListByUser(ctx, userID)
}

func (i *instrumented) DeleteByUser(ctx context.Context, userID string, except ...string) (n int, err error) {
	if i.idx == nil {
		return 0, sessionkit.ErrNotSupported
	}
	defer i.observe("delete_by_user", time.Now(), &err)
	return i.idx.DeleteByUser(ctx, userID, except...)
}
