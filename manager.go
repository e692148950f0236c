package sessionkit

// Manager loads, saves and ends sessions. Create one with New and share it;
// it is safe for concurrent use.
type Manager struct {
	cfg   Config  // normalized: every default filled in
	store backend // Config.Store or Config.ClientStore
	exp   timeouts
	ev    events
	key   *int // context key, unique per manager
}

// New checks cfg and returns a Manager. It rejects configurations that
// contradict themselves, such as a __Host- cookie with a Domain or
// SameSite=None without Secure.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, ev: events{cfg.Logger, cfg.OnEvent}, key: new(int), exp: timeouts{
		idle: cfg.IdleTimeout, lifetime: cfg.Lifetime, touch: cfg.TouchInterval, grace: cfg.RenewGrace,
		rememberIdle: cfg.RememberMeIdleTimeout, rememberLifetime: cfg.RememberMeLifetime,
	}}
	if cfg.ClientStore != nil {
		m.exp.grace = 0 // a client store revokes the old cookie at once
		m.store = clientStore{cfg.ClientStore}
	} else {
		m.store = serverStore{cfg.Store, cfg.Tokens, m.exp}
	}
	if cfg.Cookie.Insecure {
		m.cfg.Logger.Warn("sessionkit: session cookie is not Secure; use this only for plain-HTTP development", "cookie", cfg.Cookie.Name)
	}
	return m, nil
}
