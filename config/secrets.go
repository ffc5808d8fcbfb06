package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/goim-edge/goim-edge/config/secret"
	"github.com/goim-edge/goim-edge/control/logic/auth"
)

// checkSecrets refuses the placeholders shipped in examples and manifests
// ("change-me") in every secret setting, naming the key (package secret).
// Empty optional secrets pass: their feature is off (an empty api_key
// binds the HTTP API to loopback). An HS256 key file's content is checked
// when logic loads it (package auth), since config check does not read
// files.
//
// A new secret setting gets its line here.
func (c *Config) checkSecrets() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(secret.Check("rpc.secret", c.RPC.Secret))
	for i, prev := range c.RPC.PreviousSecrets {
		add(secret.Check(fmt.Sprintf("rpc.previous_secrets[%d]", i), prev))
	}
	add(secret.Check("logic.http.api_key", c.Logic.HTTP.APIKey))
	add(secret.Check("registry.etcd.password", c.Registry.Etcd.Password))
	add(secret.Check("store.redis.password", c.Store.Redis.Password))
	add(secret.Check("queue.redis.password", c.Queue.Redis.Password))
	add(secret.Check("store.redis.sentinel_password", c.Store.Redis.SentinelPassword))
	add(secret.Check("queue.redis.sentinel_password", c.Queue.Redis.SentinelPassword))
	add(secret.Check("queue.kafka.sasl.password", c.Queue.Kafka.SASL.Password))
	add(secret.Check("logic.receive.token", c.Logic.Receive.Token))
	add(checkURLSecrets("logic.receive.url", c.Logic.Receive.URL))
	switch c.Auth.Mode {
	case auth.ModeJWT:
		add(checkURLSecrets("auth.jwt.jwks_url", c.Auth.JWT.JWKSURL))
	case auth.ModeWebhook:
		add(checkURLSecrets("auth.webhook.url", c.Auth.Webhook.URL))
	}
	return errs
}

// checkURLSecrets refuses a URL that still points at an example host
// (RFC 2606: example.com, .net, .org and the .example domain) or carries a
// placeholder password ("https://user:change-me@auth.internal/...").
func checkURLSecrets(key, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil // Validate reports the malformed URL itself
	}
	if placeholderHost(u.Hostname()) {
		return fmt.Errorf("%s %q points at the placeholder host %s: set the address of your own service", key, u.Redacted(), u.Hostname())
	}
	if p, ok := u.User.Password(); ok {
		return secret.Require(key+" password", p)
	}
	return nil
}

// placeholderHost reports the domains reserved for documentation.
func placeholderHost(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	for _, d := range []string{"example.com", "example.net", "example.org", "example"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}
