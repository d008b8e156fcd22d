// HMAC-SHA256 lives on the floor below (core/util/hmac.ts); the API's auth code reaches it from here.
export { hmacKey, hmacSha256, hmacVerify } from '../../core/util/hmac.js';
