package nodes

import (
	"net/netip"
	"sort"
)

// clientRegion is the region a request comes from: the one it states,
// else the region whose CIDRs contain the client IP (the most specific
// prefix wins, ties by region name), else "" (unknown).
func clientRegion(req Request, cfg Config) string {
	if req.Region != "" {
		return req.Region
	}
	ip, err := netip.ParseAddr(req.ClientIP)
	if err != nil || len(cfg.Regions) == 0 {
		return ""
	}
	ip = ip.Unmap()
	regions := make([]string, 0, len(cfg.Regions))
	for r := range cfg.Regions {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	best, bestBits := "", -1
	for _, r := range regions {
		for _, s := range cfg.Regions[r] {
			p, err := netip.ParsePrefix(s)
			if err != nil || !p.Contains(ip) {
				continue
			}
			if p.Bits() > bestBits {
				best, bestBits = r, p.Bits()
			}
		}
	}
	return best
}
