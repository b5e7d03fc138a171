  var merchantCode = null;
  var CANCELLED = "사용자가 결제를 취소하셨습니다";

  /**
   * `IMP.init(code)`, then `IMP.request_pay(params, callback)`: the callback gets
   * `{success, imp_uid, merchant_uid, error_code, error_msg, …}`. Without a callback and
   * with `m_redirect_url`, the page goes to the window and then to
   * `m_redirect_url?imp_uid=…&merchant_uid=…&imp_success=true|false`. `popup: true` opens a
   * popup instead of the iframe. With `customer_uid`, the card is registered as that
   * billing key (and charged `amount` when it is more than 0).
   */
  window.IMP = {
    init: function (code) {
      merchantCode = code;
    },
    request_pay: function (params, callback) {
      if (!merchantCode) throw new Error("IMP.init(가맹점 식별코드) must be called before IMP.request_pay");
      params = Object.assign({}, params);
      if (params.m_redirect_url !== undefined) params.m_redirect_url = absolute(params.m_redirect_url);
      var answer = typeof callback === "function";
      var mode = !answer && params.m_redirect_url ? "redirect" : params.popup ? "popup" : "iframe";
      openWindow(
        { key: merchantCode, kind: params.customer_uid ? "billing" : "payment", mode: mode, request: params },
        function (result, redirect) {
          if (answer) callback(result);
          else if (redirect) window.location.href = redirect;
        },
        function () {
          var result = {
            success: false,
            imp_uid: null,
            merchant_uid: params.merchant_uid,
            error_code: "USER_CANCEL",
            error_msg: CANCELLED
          };
          if (answer) {
            callback(result);
          } else if (params.m_redirect_url) {
            var url = new URL(params.m_redirect_url);
            url.searchParams.set("merchant_uid", params.merchant_uid);
            url.searchParams.set("imp_success", "false");
            url.searchParams.set("error_code", "USER_CANCEL");
            url.searchParams.set("error_msg", CANCELLED);
            window.location.href = url.href;
          }
        }
      );
    }
  };
