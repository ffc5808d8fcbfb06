package etcdreg

import (
	"context"
	"testing"
	"time"

	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/registry"
	"github.com/goim-edge/goim-edge/tlsclient"
)

// registers reports whether a registrar on cfg can register a node and
// discovery on the same config then lists it.
func registers(t *testing.T, cfg Config, node string) error {
	t.Helper()
	cfg.DialTimeout = 2 * time.Second
	cli, err := NewClient(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := NewRegistrar(cli, cfg, nil)
	if err := r.Register(ctx, edgeInstance(node)); err != nil {
		return err
	}
	defer r.Deregister(context.Background()) //nolint:errcheck // best effort at test end
	d := NewDiscovery(cli, cfg, nil)
	defer d.Close()
	if err := d.WaitReady(ctx, registry.ServiceEdge); err != nil {
		return err
	}
	for _, inst := range d.Instances(registry.ServiceEdge) {
		if inst.Node == node {
			return nil
		}
	}
	t.Fatalf("%s registered but not discovered", node)
	return nil
}

// etcd over TLS that requires client certificates: a registry with the
// CA and a client certificate registers and discovers; one without the
// certificate, or trusting another CA, cannot.
func TestRegistryOverTLS(t *testing.T) {
	certs := testenv.NewCerts(t)
	etcd := testenv.EtcdTLS(t, certs)
	base := testConfig("https://" + etcd.Addr)
	good := base
	good.TLS = tlsclient.Config{Enabled: true, CAFile: certs.CAFile, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}
	if err := registers(t, good, "edge-tls"); err != nil {
		t.Fatalf("with CA and client certificate: %v", err)
	}
	noCert := base
	noCert.TLS = tlsclient.Config{Enabled: true, CAFile: certs.CAFile}
	if err := registers(t, noCert, "edge-nocert"); err == nil {
		t.Fatal("registered without a client certificate")
	}
	other := testenv.NewCerts(t)
	wrongCA := base
	wrongCA.TLS = tlsclient.Config{Enabled: true, CAFile: other.CAFile, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}
	if err := registers(t, wrongCA, "edge-wrongca"); err == nil {
		t.Fatal("registered trusting another CA")
	}
}

// etcd with authentication on: the configured user registers; no user,
// or a wrong password, cannot.
func TestRegistryWithEtcdAuth(t *testing.T) {
	etcd := testenv.Etcd(t)
	cfg := testConfig(etcd.Addr)
	admin := newClient(t, cfg)
	ctx := context.Background()
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "root-pass"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.UserAdd(ctx, "goim", "goim-pass"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "goim"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "goim", "/", "0", 2 /* readwrite */)
			return err
		},
		func() error { _, err := admin.UserGrantRole(ctx, "goim", "goim"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("set up etcd auth: %v", err)
		}
	}
	user := cfg
	user.Username, user.Password = "goim", "goim-pass"
	if err := registers(t, user, "edge-auth"); err != nil {
		t.Fatalf("as user goim: %v", err)
	}
	wrong := user
	wrong.Password = "not-it"
	if err := registers(t, wrong, "edge-wrong"); err == nil {
		t.Fatal("registered with a wrong password")
	}
	if err := registers(t, cfg, "edge-anon"); err == nil {
		t.Fatal("registered without credentials")
	}
}
