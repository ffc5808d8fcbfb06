// Package js holds the JavaScript SDK (goim.js, an ES module, and its
// TypeScript declarations) and embeds them, so logic's demo page serves
// the very file that is published: there is no copy to drift.
package js

import _ "embed"

// Module is goim.js, the SDK's ES module.
//
//go:embed goim.js
var Module []byte

// Types is goim.d.ts, the module's TypeScript declarations.
//
//go:embed goim.d.ts
var Types []byte
