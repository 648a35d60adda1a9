import type { ControlHandlers } from "@stowage/control-server";
import type { DoctorService } from "../../services/doctor";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";

type Handlers = Pick<ControlHandlers<OperatorPrincipal>, "getDoctorReport">;

export function doctorHandlers(doctor: DoctorService): Handlers {
  return {
    getDoctorReport: (ctx) => ({
      status: 200,
      body: envelope("doctor.report", doctor.report(ctx, ctx.query)),
    }),
  };
}
