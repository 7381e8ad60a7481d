# frozen_string_literal: true

require "base64"
require "openssl"
require "securerandom"

module TaskerCore
  class Web
    # CSRF protection that needs no session store, so it works mounted in
    # Rails and alone: a random token lives in an HttpOnly, SameSite=Strict
    # cookie scoped to the dashboard's path, signed with the app's secret
    # (a cookie planted from a sibling subdomain does not verify). Every form
    # carries the same token, masked with a fresh one-time pad per page
    # (BREACH), and an action runs only when the form's token matches the
    # cookie's. Another site can make the browser send the cookie but can
    # neither read it nor the page, so it cannot fill the form field.
    class Csrf
      COOKIE = "tasker_core_csrf"
      FIELD = "authenticity_token"
      TOKEN_BYTES = 32

      def initialize(secret)
        @secret = secret
      end

      # The request's token: the signed cookie's when valid, else a new one.
      # Returns [token, fresh] (fresh: the response must set the cookie).
      def token_for(request)
        token = verified_cookie(request)
        token ? [token, false] : [SecureRandom.urlsafe_base64(TOKEN_BYTES), true]
      end

      # The token as a form field value: pad + (pad XOR token), base64url.
      def masked(token)
        raw = Base64.urlsafe_decode64(token)
        pad = SecureRandom.random_bytes(raw.bytesize)
        Base64.urlsafe_encode64(pad + xor(pad, raw), padding: false)
      end

      # Whether the form's token matches the signed cookie's.
      def valid?(request)
        token = verified_cookie(request) or return false
        given = request.POST[FIELD]
        return false unless given.is_a?(String) && given.bytesize <= 256

        unmasked = unmask(given) or return false
        Rack::Utils.secure_compare(unmasked, Base64.urlsafe_decode64(token))
      rescue ArgumentError
        false
      end

      def set_cookie(headers, request, token)
        Rack::Utils.set_cookie_header!(headers, COOKIE,
                                       value: "#{token}.#{sign(token)}", path: cookie_path(request), httponly: true,
                                       same_site: :strict, secure: request.ssl?)
      end

      private

      def verified_cookie(request)
        value = request.cookies[COOKIE]
        return nil unless value.is_a?(String) && value.bytesize <= 256

        token, signature = value.split(".", 2) # "." is not in base64url's alphabet
        return nil unless token && signature && Rack::Utils.secure_compare(sign(token), signature)

        token
      end

      def unmask(given)
        bytes = Base64.urlsafe_decode64(given)
        return nil unless bytes.bytesize == 2 * TOKEN_BYTES

        pad = bytes.byteslice(0, TOKEN_BYTES)
        xor(pad, bytes.byteslice(TOKEN_BYTES, TOKEN_BYTES))
      end

      def xor(a, b) = a.bytes.zip(b.bytes).map { |x, y| x ^ y }.pack("C*")

      def sign(token) = OpenSSL::HMAC.hexdigest("SHA256", @secret, "tasker_core/web csrf #{token}")

      def cookie_path(request)
        path = request.script_name.to_s
        path.empty? ? "/" : path
      end
    end
  end
end
