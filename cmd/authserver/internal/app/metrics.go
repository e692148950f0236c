package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/sessionkit/sessionprom"
)

// metrics are the app's Prometheus collectors: the session metrics of
// sessionprom, named authserver_sessions_* and
// authserver_session_store_duration_seconds, and the app's own counters.
type metrics struct {
	sessions      *sessionprom.Collector
	logins        *prometheus.CounterVec
	registrations *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: sessionprom.New(sessionprom.Options{Namespace: "authserver"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_logins_total", Help: "Login attempts by result: succeeded, failed, rate_limited, unavailable (no password hashing slot), too_many_sessions (refused by -session-limit reject).",
		}, []string{"result"}),
		registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserver_registrations_total", Help: "Registration attempts by result: succeeded, rejected, rate_limited.",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.sessions, m.logins, m.registrations} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"succeeded", "failed", "rate_limited", "unavailable", "too_many_sessions"} {
		m.logins.WithLabelValues(r)
	}
	return m, nil
}
