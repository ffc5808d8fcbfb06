package kafkaq_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/goim-edge/goim-edge/control/queue"
	"github.com/goim-edge/goim-edge/control/queue/kafkaq"
	"github.com/goim-edge/goim-edge/control/queue/queuetest"
	"github.com/goim-edge/goim-edge/internal/testenv"
	"github.com/goim-edge/goim-edge/tlsclient"
)

// TLS and SASL against kfake (an in-process Kafka speaking the real
// protocol, not a real broker) serving TLS with test certificates and
// requiring SCRAM-SHA-256 or PLAIN logins: the queue with the CA and the
// right login carries pushes; a wrong password, no TLS, or no login
// does not.
func TestKafkaOverTLSWithSASL(t *testing.T) {
	certs := testenv.NewCerts(t)
	serverTLS, err := certs.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{queue.SASLScramSHA256, queue.SASLPlain} {
		t.Run(mech, func(t *testing.T) {
			method := map[string]string{queue.SASLScramSHA256: "SCRAM-SHA-256", queue.SASLPlain: "PLAIN"}[mech]
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(2),
				kfake.GroupMinSessionTimeout(100*time.Millisecond),
				kfake.TLS(serverTLS), kfake.EnableSASL(), kfake.Superuser(method, "goim", "goim-pass"))
			if err != nil {
				t.Fatalf("kfake: %v", err)
			}
			t.Cleanup(c.Close)
			good := testConfig(c)
			good.TLS = tlsclient.Config{Enabled: true, CAFile: certs.CAFile}
			good.SASL = queue.SASLConfig{Mechanism: mech, Username: "goim", Password: "goim-pass"}

			p := newProducer(t, good)
			var got queuetest.Recorder
			queuetest.Start(t, kafkaq.NewConsumer(good), func(_ context.Context, d *queue.Delivery) error { got.Add(d); return nil })
			for i := range 5 {
				if err := p.Publish(context.Background(), queuetest.Msg("live://1", i)); err != nil {
					t.Fatal(err)
				}
			}
			queuetest.WaitFor(t, 30*time.Second, "every push over TLS and SASL", func() bool { return got.Distinct() == 5 })
			if mech != queue.SASLScramSHA256 {
				return // the refusals below are the transport's, checked once
			}

			for name, mod := range map[string]func(*kafkaq.Config){
				"wrong password": func(c *kafkaq.Config) { c.SASL.Password = "not-it" },
				"no tls":         func(c *kafkaq.Config) { c.TLS = tlsclient.Config{} },
				"no login":       func(c *kafkaq.Config) { c.SASL = queue.SASLConfig{} },
			} {
				bad := good
				mod(&bad)
				bad.CreateTopics = false // the topics exist; the publish is what must fail
				bad.ProduceTimeout = time.Second
				bp, err := kafkaq.NewProducer(context.Background(), bad, nil)
				if err != nil {
					t.Fatalf("%s: producer: %v", name, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err = bp.Publish(ctx, queuetest.Msg("live://1", 99))
				cancel()
				bp.Close()
				if err == nil {
					t.Errorf("%s: publish succeeded", name)
				}
			}
		})
	}
}

// A SASL setting that cannot work is refused when the config is checked.
func TestSASLConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		c  queue.SASLConfig
		ok bool
	}{
		{queue.SASLConfig{}, true},
		{queue.SASLConfig{Mechanism: queue.SASLPlain, Username: "u", Password: "p"}, true},
		{queue.SASLConfig{Mechanism: "gssapi", Username: "u"}, false},
		{queue.SASLConfig{Mechanism: queue.SASLScramSHA512}, false},
		{queue.SASLConfig{Username: "u"}, false},
	} {
		if err := tt.c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: err %v", tt.c, err)
		}
	}
}
