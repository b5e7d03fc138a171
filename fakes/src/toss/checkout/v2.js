  var METHODS = { CARD: "카드", VIRTUAL_ACCOUNT: "가상계좌" };

  /**
   * `TossPayments(clientKey).payment({customerKey})`: `requestPayment({method, amount:
   * {currency, value}, orderId, orderName, successUrl, failUrl, …})` and
   * `requestBillingAuth({method: "CARD", successUrl, failUrl})`.
   */
  function TossPayments(clientKey) {
    checkKey(clientKey);
    return {
      payment: function (options) {
        var customerKey = options && options.customerKey;
        return {
          requestPayment: function (params) {
            params = params || {};
            var amount = params.amount || {};
            if (amount.currency !== undefined && amount.currency !== "KRW") {
              return Promise.reject(sdkError("INVALID_PARAMETERS", "the sandbox window takes KRW only"));
            }
            var request = Object.assign({}, params, {
              method: METHODS[params.method] || params.method,
              amount: amount.value,
              customerKey: customerKey
            });
            return start(clientKey, "payment", request);
          },
          requestBillingAuth: function (params) {
            params = params || {};
            if (params.method !== "CARD") {
              return Promise.reject(sdkError("INVALID_METHOD", "billing authorisation takes CARD only"));
            }
            return start(clientKey, "billing", Object.assign({}, params, { method: "카드", customerKey: customerKey }));
          }
        };
      }
    };
  }
  TossPayments.ANONYMOUS = "@@ANONYMOUS";
  window.TossPayments = TossPayments;
