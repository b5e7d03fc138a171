  /** `TossPayments(clientKey)`: `requestPayment(method, params)`, `requestBillingAuth("카드", params)`. */
  window.TossPayments = function TossPayments(clientKey) {
    checkKey(clientKey);
    return {
      requestPayment: function (method, params) {
        return start(clientKey, "payment", Object.assign({}, params, { method: method }));
      },
      requestBillingAuth: function (method, params) {
        if (method !== "카드" && method !== "CARD") {
          return Promise.reject(sdkError("INVALID_METHOD", "billing authorisation takes 카드 only"));
        }
        return start(clientKey, "billing", Object.assign({}, params, { method: "카드" }));
      }
    };
  };
