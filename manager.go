package sessionkit

// Manager loads, saves and ends sessions. Create one with New and share it;
// it is safe for concurrent use.
type Manager struct {
	cfg   Config  // normalized: every default filled in
	store backend // Config.Store or Config.ClientStore
	key   *int    // context key, unique per manager
}

// New checks cfg and returns a Manager. It rejects configurations that
// contradict themselves, such as a __Host- cookie with a Domain or
// SameSite=None without Secure.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, key: new(int)}
	if cfg.ClientStore != nil {
		m.store = clientStore{m, cfg.ClientStore}
	} else {
		m.store = serverStore{m, cfg.Store}
	}
	if cfg.Cookie.Insecure {
		m.cfg.Logger.Warn("sessionkit: session cookie is not Secure; use this only for plain-HTTP development", "cookie", cfg.Cookie.Name)
	}
	return m, nil
}
