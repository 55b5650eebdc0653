package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/backtest"
	"github.com/vitals-hq/vitals/console"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/eventstore/stores"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/ingest/broker"
	"github.com/vitals-hq/vitals/metrics"
	"github.com/vitals-hq/vitals/notify"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// serveConfig is the configuration of "vitals serve".
type serveConfig struct {
	addr, dataDir       string
	logLevel, logFormat string
	shutdownTimeout     time.Duration
	scoringConfig       string
	store               string
	loadDemo            bool
	demo                demoFlags

	keysFile, apiKeys string
	keysReload        time.Duration
	authFailLimit     int
	insecureNoAuth    bool
	rateLimit         float64
	rateBurst         int
	maxConcurrent     int
	maxBody           int64
	maxBatch          int
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	bodyReadTimeout   time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	drainDelay        time.Duration
	snapshotEvery     int
	snapshotInterval  time.Duration
	storeIndexEvery   int

	natsURL, natsTopic, natsPoisonTopic, natsDurable string
	natsAckWait                                      time.Duration

	shadowConfigs listFlag

	notifyTargets  listFlag
	notifySource   string
	notifyRecency  time.Duration
	notifyDebounce time.Duration
	notifyRetryFor time.Duration
}

// serve: vitals serve [flags]
func (a *App) serve(ctx context.Context, args []string) (err error) {
	fs := a.newFlagSet("serve", "serve [flags]")
	var c serveConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.dataDir, "data-dir", "./vitals-data", "directory of the embedded store")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long a shutdown waits for requests in flight")
	fs.StringVar(&c.store, "store", "bolt", "event store: bolt (embedded, in --data-dir) or esdb://host:2113?tls=false (EventStoreDB/KurrentDB)")
	fs.IntVar(&c.storeIndexEvery, "store-index-every", bolt.DefaultIndexEvery, "the embedded store indexes this many of its newest events in memory (read back from the log after a crash) before writing them into its file's indexes in one pass")
	fs.StringVar(&c.scoringConfig, "scoring-config", "", "YAML file with the scoring configuration (default: the built-in defaults of docs/scoring.md)")
	fs.StringVar(&c.keysFile, "keys-file", "", "API keys file (default: keys.json in --data-dir; see vitals keys add)")
	fs.StringVar(&c.apiKeys, "api-keys", "", "API keys as name:scope+scope:sha256hex, comma-separated (hashes only)")
	fs.DurationVar(&c.keysReload, "keys-reload-interval", time.Second, "how often to check the keys file for changes (0: only on SIGHUP)")
	fs.IntVar(&c.authFailLimit, "auth-fail-limit", api.DefaultAuthFailures, "failed authentications allowed per client address per minute before 429; 0 disables")
	fs.BoolVar(&c.insecureNoAuth, "insecure-no-auth", false, "allow serving a non-loopback address without API keys")
	fs.Float64Var(&c.rateLimit, "rate-limit", 200, "requests per second per API key (per client address without keys); 0 disables")
	fs.IntVar(&c.rateBurst, "rate-burst", 400, "burst size of the rate limit")
	fs.IntVar(&c.maxConcurrent, "max-concurrent-ingest", api.DefaultMaxConcurrentIngest, "ingest requests processed at once; more wait up to 1s, then get 503")
	fs.Int64Var(&c.maxBody, "max-body-bytes", api.DefaultMaxBodyBytes, "largest request body")
	fs.IntVar(&c.maxBatch, "max-batch-events", api.DefaultMaxBatchEvents, "most events in one batch")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 10*time.Second, "time to read request headers")
	fs.DurationVar(&c.readTimeout, "read-timeout", 2*time.Minute, "time to read a whole request")
	fs.DurationVar(&c.bodyReadTimeout, "body-read-timeout", api.DefaultBodyReadTimeout, "time to receive an ingest request's body; slower bodies get 408")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 2*time.Minute, "time to write an answer")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 2*time.Minute, "keep-alive idle time")
	fs.DurationVar(&c.drainDelay, "drain-delay", 0, "on shutdown, how long /readyz reports draining before the listener closes")
	fs.IntVar(&c.snapshotEvery, "snapshot-every", projections.DefaultSnapshotEvery, "write a projections snapshot after this many events")
	fs.DurationVar(&c.snapshotInterval, "snapshot-interval", projections.DefaultSnapshotInterval, "write a projections snapshot at least this often when events arrive")
	fs.StringVar(&c.natsURL, "nats-url", "", "NATS server to consume CloudEvents from over JetStream (empty: off); see docs/brokers.md")
	fs.StringVar(&c.natsTopic, "nats-topic", "vitals.events", "NATS subject events arrive on")
	fs.StringVar(&c.natsPoisonTopic, "nats-poison-topic", "vitals.events.poison", "NATS subject rejected events are moved to")
	fs.StringVar(&c.natsDurable, "nats-durable", "vitals", "durable JetStream consumer name")
	fs.DurationVar(&c.natsAckWait, "nats-ack-wait", 30*time.Second, "how long JetStream waits for an ack before redelivering")
	fs.Var(&c.notifyTargets, "notify", "deliver derived events to this URL (http(s):// webhook or nats://host:port?subject=…); repeatable, or comma-separated")
	fs.StringVar(&c.notifySource, "notify-source", notify.DefaultSource(), "CloudEvents source of the derived events (identifies this deployment)")
	fs.DurationVar(&c.notifyRecency, "notify-recency", projections.DefaultTransitionRecency, "publish a transition only when it happened at most this long before it is derived")
	fs.DurationVar(&c.notifyDebounce, "notify-debounce", projections.DefaultTransitionDebounce, "publish a transition only once it has held this long (0: at once)")
	fs.DurationVar(&c.notifyRetryFor, "notify-retry-for", notify.DefaultRetryFor, "give up a notification once its target has failed every attempt for this long")
	fs.Var(&c.shadowConfigs, "shadow-config", "a candidate scoring configuration NAME=FILE (YAML), served by GET /v1/accounts/{id}/health?config=NAME and GET /v1/backtest beside the live one; repeatable")
	fs.BoolVar(&c.loadDemo, "demo", false, "load a demo agency into the store when it is empty (see the demo-* flags)")
	c.demo.register(fs, "demo-")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	// A start-up that fails leaves no data dir it made behind.
	started, removeDataDir := false, removeIfMade(c.dataDir)
	defer func() {
		if err != nil && !started {
			removeDataDir()
		}
	}()
	log, err := newLogger(a.Stdout, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	keys, err := loadKeys(c, log)
	if err != nil {
		return err
	}
	if err := checkExposure(c, keys.Len() > 0, log); err != nil {
		return err
	}
	stopWatch := a.watchKeys(ctx, c, log, keys)
	defer stopWatch()
	// Bind before touching the disk: a busy port fails fast.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	defer ln.Close()

	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{Version: version, Runtime: true})
	store, storeInfo, err := openStore(ctx, c, log, m)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error().Err(err).Msg("closing the store")
		}
	}()
	ing := ingest.NewWithEncoding(m.InstrumentStore(store), storeInfo.encoding)
	if c.loadDemo {
		if err := loadDemo(ctx, log, store, ing, c.demo); err != nil {
			return err
		}
	}
	scorer, current, err := newScorerConfig(c.scoringConfig)
	if err != nil {
		return err
	}
	configs, err := scoringConfigs(current, c.shadowConfigs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dataDir, 0o750); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	outbox, deriver, stopDeriver, err := startNotify(c, log, m)
	if err != nil {
		return err
	}
	defer func() {
		// After the projector's final snapshot (deferred later, so run
		// first), which waits for the deriver.
		stopDeriver()
		if err := outbox.Close(); err != nil {
			log.Error().Err(err).Msg("closing the notifications outbox")
		}
	}()
	proj, err := projections.New(projections.Config{
		Store: store, Scorer: scorer, SnapshotPath: snapshotPath(c.dataDir), Logger: log,
		DedupeKeys: storeInfo.dedupeKeys, Observer: m.ProjectorObserver(),
		SnapshotEvery: c.snapshotEvery, SnapshotInterval: c.snapshotInterval,
		Transitions: deriver, TransitionRecency: c.notifyRecency, TransitionDebounce: c.notifyDebounce,
	})
	if err != nil {
		return err
	}
	ing.SetHandoff(proj) // the projector applies what the ingester decoded
	if err := m.Watch(metrics.Sources{Store: store, Projections: proj, SizeBytes: storeInfo.sizeBytes}); err != nil {
		return err
	}
	startHead, err := store.Head(ctx)
	if err != nil {
		return err
	}
	projCtx, stopProj := context.WithCancel(context.WithoutCancel(ctx))
	projDone := make(chan error, 1)
	var projFailed atomic.Pointer[error] // set when the projector stops on its own
	catchCtx, projStopped := context.WithCancel(projCtx)
	go func() {
		err := proj.Run(projCtx)
		projStopped()
		if err != nil {
			projFailed.Store(&err)
			log.Error().Err(err).Msg("projections stopped with an error; /readyz reports not ready")
		}
		projDone <- err
	}()
	defer func() {
		stopProj()
		<-projDone
	}()
	stopCatchUpLog := startCatchUpLog(catchCtx, log, proj.Stats().StartPosition, startHead, proj.Position)
	defer stopCatchUpLog()
	// Notification targets (--notify): delivery stops before the outbox
	// closes (this defer runs before the outbox's).
	stopDelivery, err := a.startDelivery(c, log, m, outbox)
	if err != nil {
		return err
	}
	defer stopDelivery()
	if c.natsURL != "" {
		stopBroker, err := startBroker(ctx, c, log, ing, m)
		if err != nil {
			return err
		}
		defer stopBroker()
	}
	bands := scorer.Bands()
	web, err := console.New(console.Config{Projector: proj, Store: store, Keys: keys, Bands: &bands, Logger: log})
	if err != nil {
		return err
	}
	srv, err := api.New(api.Config{Store: store, Ingester: ing, Logger: log, Projector: proj, IngestObserver: m, Notifications: outbox, Console: web,
		ScoringConfigs: configs, Keys: keys, AuthFailures: authFailures(c.authFailLimit), RateLimit: c.rateLimit, RateBurst: c.rateBurst, MaxConcurrentIngest: c.maxConcurrent,
		MaxBodyBytes: c.maxBody, MaxBatchEvents: c.maxBatch, BodyReadTimeout: c.bodyReadTimeout, Metrics: metrics.Handler(reg), Backup: storeInfo.backup,
		Stats: func(ctx context.Context) (any, error) {
			head, err := store.Head(ctx)
			return map[string]any{"store_head": head, "projections": proj.Stats(), "checkpoints": proj.Checkpoints()}, err
		},
		Ready: []api.ReadyCheck{{Name: "projections", Check: func(context.Context) error {
			if e := projFailed.Load(); e != nil {
				return fmt.Errorf("stopped: %w", *e)
			}
			if pos := proj.Position(); pos < startHead {
				return fmt.Errorf("catching up: at position %d of %d", pos, startHead)
			}
			return nil
		}}}})
	if err != nil {
		return err
	}
	started = true
	return a.listenAndServe(ctx, log, c, ln, srv, m.InstrumentHTTP(srv))
}

// startNotify opens the outbox of derived events in the data dir and
// starts the deriver that appends to it; stop ends the deriver once what
// it was handed is appended.
func startNotify(c serveConfig, log zerolog.Logger, m *metrics.Metrics) (*notify.BoltOutbox, *notify.Deriver, func(), error) {
	if c.notifyRecency <= 0 {
		return nil, nil, nil, errors.New("--notify-recency: must be positive")
	}
	if c.notifyDebounce < 0 || c.notifyDebounce >= c.notifyRecency {
		return nil, nil, nil, fmt.Errorf("--notify-debounce: must be ≥ 0 and shorter than --notify-recency (%s)", c.notifyRecency)
	}
	if c.notifySource == "" {
		return nil, nil, nil, errors.New("--notify-source: must not be empty")
	}
	outbox, err := notify.OpenOutbox(c.dataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	d := notify.NewDeriver(c.notifySource, outbox, log, m.NotifyPublished(notify.Types()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return outbox, d, func() { cancel(); <-done }, nil
}

// startDelivery starts delivering the outbox to the --notify targets; stop
// waits for the dispatcher to finish its current attempts.
func (a *App) startDelivery(c serveConfig, log zerolog.Logger, m *metrics.Metrics, outbox notify.Outbox) (stop func(), err error) {
	targets := make([]notify.Target, 0, len(c.notifyTargets))
	webhooks := false
	for i, raw := range c.notifyTargets {
		t, err := notify.ParseTarget(raw, i)
		if err != nil {
			return nil, fmt.Errorf("--notify: %w", err)
		}
		targets = append(targets, t)
		webhooks = webhooks || t.Kind == notify.KindWebhook
	}
	var secret []byte
	if webhooks {
		if secret, _, err = notify.LoadOrCreateSecret(c.dataDir, a.Getenv("VITALS_NOTIFY_SECRET")); err != nil {
			return nil, err
		}
	}
	nm := m.Notify()
	disp, err := notify.NewDispatcher(notify.DispatcherConfig{Outbox: outbox, Targets: targets, Secret: secret,
		Logger: log, Observer: nm, RetryFor: c.notifyRetryFor})
	if err != nil {
		return nil, fmt.Errorf("--notify: %w", err)
	}
	if err := nm.Watch(disp); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- disp.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			log.Error().Err(err).Msg("notification delivery stopped with an error")
		}
	}, nil
}

// startBroker consumes events from NATS JetStream until the returned stop
// function is called (before the store closes).
func startBroker(ctx context.Context, c serveConfig, log zerolog.Logger, ing *ingest.Ingester, m *metrics.Metrics) (stop func(), err error) {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	sub, pub, err := broker.NewJetStream(sctx, c.natsURL, broker.JetStreamConfig{
		Topic: c.natsTopic, PoisonTopic: c.natsPoisonTopic, Durable: c.natsDurable, AckWait: c.natsAckWait, Logger: log})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("--nats-url %s: %w", redactURL(c.natsURL), err)
	}
	cons, err := broker.New(broker.Config{Subscriber: sub, Publisher: pub, Topic: c.natsTopic, PoisonTopic: c.natsPoisonTopic,
		Ingester: ing, Logger: log, OnIngest: m.ObserveIngest})
	if err != nil {
		sub.Close()
		pub.Close()
		return nil, err
	}
	bctx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- cons.Run(bctx) }()
	log.Info().Str("nats", redactURL(c.natsURL)).Str("topic", c.natsTopic).Msg("consuming events from NATS JetStream")
	return func() {
		cancelRun()
		if err := <-done; err != nil {
			log.Error().Err(err).Msg("broker consumer stopped with an error")
		}
	}, nil
}

// storeInfo is what the wiring needs to know of the chosen store, read
// from the capabilities it implements (eventstore/capabilities.go).
type storeInfo struct {
	// dedupeKeys is set for stores that do not deduplicate forever.
	dedupeKeys bool
	// encoding is the form events are stored in: compact in the embedded
	// store, JSON where other tools read the events (KurrentDB).
	encoding ingest.Encoding
	// sizeBytes reports the store's size on disk (nil when unknown).
	sizeBytes func() (int64, error)
	// backup copies the store while it runs (nil when unsupported).
	backup func(ctx context.Context, w io.Writer, size func(int64)) (int64, error)
}

// openStore opens the store named by --store (stores.Open): the embedded
// bolt store in the data dir (default), or EventStoreDB/KurrentDB for an
// esdb:// URL.
func openStore(ctx context.Context, c serveConfig, log zerolog.Logger, m *metrics.Metrics) (eventstore.Store, storeInfo, error) {
	s, err := stores.Open(ctx, c.store, stores.Options{DataDir: c.dataDir, Logger: log, OnCommit: m.ObserveCommit, IndexEvery: c.storeIndexEvery})
	if errors.Is(err, stores.ErrUnknown) {
		return nil, storeInfo{}, fmt.Errorf("--store: %w", err)
	}
	if err != nil {
		return nil, storeInfo{}, err
	}
	info := storeInfo{
		dedupeKeys: !eventstore.GuaranteesOf(s).DurableKeys,
		sizeBytes:  eventstore.SizeOf(s),
		backup:     eventstore.BackupOf(s),
		encoding:   ingest.EncodeJSON,
	}
	if stores.IsEmbedded(c.store) {
		info.encoding = ingest.EncodeCompact // only Vitals reads the embedded store
	}
	return s, info, nil
}

// redactURL hides a password in a URL (store, NATS).
func redactURL(raw string) string { return stores.Redact(raw) }

// listenAndServe serves h on ln until ctx is done, then shuts down
// gracefully.
func (a *App) listenAndServe(ctx context.Context, log zerolog.Logger, c serveConfig, ln net.Listener, srv *api.Server, h http.Handler) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.readHeaderTimeout,
		ReadTimeout:       c.readTimeout,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       c.idleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info().Str("addr", ln.Addr().String()).Str("data_dir", c.dataDir).Str("version", version).Msg("vitals is serving")
	if a.OnListen != nil {
		a.OnListen(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	srv.Drain()
	log.Info().Dur("drain_delay", c.drainDelay).Msg("shutting down: readyz reports draining")
	if c.drainDelay > 0 {
		time.Sleep(c.drainDelay)
	}
	log.Info().Msg("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info().Msg("http server stopped; flushing projections and closing the store")
	return nil
}

// loadKeys reads the API keys from the keys file and --api-keys. The
// keyring is empty when there are none: requests then need no key until
// one is added to the keys file (see watchKeys).
func loadKeys(c serveConfig, log zerolog.Logger) (*auth.Keyring, error) {
	ring := new(auth.Keyring)
	path := keysPath(c.keysFile, c.dataDir)
	if err := ring.LoadFile(path); err != nil {
		return nil, err
	}
	if err := ring.LoadEnv(c.apiKeys); err != nil {
		return nil, fmt.Errorf("--api-keys: %w", err)
	}
	if ring.Len() == 0 {
		log.Info().Str("keys_file", path).Msg("no API keys: requests need no key until one is added to the keys file")
		return ring, nil
	}
	log.Info().Int("keys", ring.Len()).Str("keys_file", path).Msg("API keys required")
	return ring, nil
}

// watchKeys reloads ring from the keys file when the file changes (every
// --keys-reload-interval) and on SIGHUP, until the returned stop function
// is called.
func (a *App) watchKeys(ctx context.Context, c serveConfig, log zerolog.Logger, ring *auth.Keyring) (stop func()) {
	hup := a.Hangup
	var sig chan os.Signal
	if hup == nil {
		sig = make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGHUP)
		hup = sig
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	path := keysPath(c.keysFile, c.dataDir)
	go func() {
		defer close(done)
		ring.Watch(wctx, path, c.apiKeys, c.keysReload, hup, keysReloaded(log, ring, path))
	}()
	return func() {
		cancel()
		<-done
		if sig != nil {
			signal.Stop(sig)
		}
	}
}

// keysReloaded logs one reload of the keys, by name only (never key
// material), and warns when no key is left.
func keysReloaded(log zerolog.Logger, ring *auth.Keyring, path string) func(auth.Change, error) {
	return func(ch auth.Change, err error) {
		switch {
		case err != nil:
			log.Error().Err(err).Str("keys_file", path).Int("keys", ch.Keys).Msg("keys file not reloaded: the previous keys stay in force")
			return
		case ch.Empty():
			log.Debug().Str("keys_file", path).Int("keys", ch.Keys).Msg("keys reloaded: no change")
			return
		}
		log.Info().Str("keys_file", path).Int("keys", ch.Keys).Strs("added", ch.Added).Strs("removed", ch.Removed).
			Strs("replaced", ch.Replaced).Msg("API keys reloaded")
		if ch.Keys == 0 && ring.Enforced() {
			log.Warn().Str("keys_file", path).Msg("no API keys left: every request but /livez and /readyz is refused (401) until a key is added")
		}
	}
}

// authFailures maps --auth-fail-limit (0 disables) to api.Config.AuthFailures
// (negative disables).
func authFailures(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// checkExposure refuses to serve a non-loopback address without keys,
// unless --insecure-no-auth says so.
func checkExposure(c serveConfig, haveKeys bool, log zerolog.Logger) error {
	if haveKeys || isLoopback(c.addr) {
		return nil
	}
	if c.insecureNoAuth {
		log.Warn().Str("addr", c.addr).Msg("serving without authentication on a non-loopback address (--insecure-no-auth): anyone who can reach it can read and write client data")
		return nil
	}
	return fmt.Errorf("--addr %s is reachable from other machines and no API keys are configured: add one with "+
		"'vitals keys add --name NAME --scopes ingest,read,admin', or pass --insecure-no-auth to serve without authentication", c.addr)
}

// isLoopback reports whether addr listens on a loopback interface only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loadDemo fills an empty store with a demo agency through the ingester,
// exactly as if it had been posted.
func loadDemo(ctx context.Context, log zerolog.Logger, store eventstore.Store, ing *ingest.Ingester, d demoFlags) error {
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	if head > 0 {
		log.Info().Uint64("position", uint64(head)).Msg("store is not empty: demo agency not loaded")
		return nil
	}
	now := time.Now()
	cfg, err := d.config(now)
	if err != nil {
		return err
	}
	log.Info().Int("accounts", cfg.Accounts).Int("managers", cfg.Managers).Int("months", cfg.Months).Int64("seed", cfg.Seed).Msg("loading demo agency")
	start, last := time.Now(), time.Now()
	total, err := ingestDemo(ctx, ing, cfg, now, 2000, func(total int, rejected []ingest.Result) {
		for _, r := range rejected {
			log.Warn().Str("id", r.ID).Str("field", r.Error.Field).Msg("demo event rejected: " + r.Error.Message)
		}
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			log.Info().Int("events", total).Msg("loading demo agency")
		}
	})
	if err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	log.Info().Int("events", total).Float64("took_seconds", time.Since(start).Seconds()).Msg("demo agency loaded")
	return nil
}

// ingestDemo generates the demo agency cfg and ingests it in batches, as if
// it had been posted with time now. progress is called after each batch
// with the events so far and that batch's rejections.
func ingestDemo(ctx context.Context, ing *ingest.Ingester, cfg demo.Config, now time.Time, batchSize int, progress func(total int, rejected []ingest.Result)) (int, error) {
	var batch []ingest.Candidate
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		results, _, err := ing.Ingest(ctx, batch)
		if err != nil {
			return err
		}
		var rejected []ingest.Result
		for _, r := range results {
			if r.Status == ingest.Rejected {
				rejected = append(rejected, r)
			}
		}
		total += len(batch)
		batch = batch[:0]
		progress(total, rejected)
		return nil
	}
	err := demo.Generate(ctx, cfg, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, perr := domain.Parse(raw, now)
		batch = append(batch, ingest.Candidate{Event: ev, Err: perr})
		if len(batch) >= batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return total, err
}

// newLogger builds the process logger: JSON, or console output on a
// terminal when format is auto.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level: must be debug, info, warn or error, got %q", level)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime, NoColor: !isTerminal(w)}
	case "auto":
		if isTerminal(w) {
			w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
		}
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format: must be json, console or auto, got %q", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// isTerminal reports whether w is a terminal (colours and console logs
// are for people, not files and pipes).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// snapshotPath is the projections' snapshot file in the data dir.
func snapshotPath(dataDir string) string { return filepath.Join(dataDir, "projections.snapshot") }

// newScorer builds the scorer from a YAML file, or the defaults when path
// is empty.
func newScorer(path string) (*scoring.Scorer, error) {
	s, _, err := newScorerConfig(path)
	return s, err
}

// newScorerConfig is newScorer with the configuration it was built from.
func newScorerConfig(path string) (*scoring.Scorer, scoring.Config, error) {
	cfg := scoring.DefaultConfig()
	if path != "" {
		var err error
		if cfg, err = loadScoringConfig("--scoring-config", path); err != nil {
			return nil, scoring.Config{}, err
		}
	}
	s, err := scoring.New(cfg)
	if err != nil {
		return nil, scoring.Config{}, fmt.Errorf("scoring configuration: %w", err)
	}
	return s, cfg, nil
}

// scoringConfigs are the live configuration, named "current", and the
// shadow ones of --shadow-config NAME=FILE, for the API.
func scoringConfigs(current scoring.Config, shadows []string) ([]backtest.Config, error) {
	out := []backtest.Config{{Name: api.CurrentConfig, Config: current}}
	seen := map[string]bool{api.CurrentConfig: true}
	for _, nf := range shadows {
		name, file, ok := strings.Cut(nf, "=")
		if !ok || file == "" {
			return nil, fmt.Errorf("--shadow-config %s: give NAME=FILE (a scoring configuration YAML)", nf)
		}
		if err := backtest.ValidName(name); err != nil {
			return nil, fmt.Errorf("--shadow-config: %w", err)
		}
		if seen[name] {
			return nil, fmt.Errorf("--shadow-config %s: the name %q is taken", nf, name)
		}
		seen[name] = true
		c, err := loadScoringConfig("--shadow-config "+name, file)
		if err != nil {
			return nil, err
		}
		out = append(out, backtest.Config{Name: name, Config: c})
	}
	return out, nil
}
