CREATE TABLE "deployment_containers" (
	"deployment_id" text NOT NULL,
	"service" text NOT NULL,
	"host_name" text NOT NULL,
	"host_address" text NOT NULL,
	"container_id" text NOT NULL,
	"container_name" text NOT NULL,
	"image" text NOT NULL,
	"ports" jsonb NOT NULL,
	"connections" jsonb NOT NULL,
	"health" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "deployment_containers_deployment_id_service_pk" PRIMARY KEY("deployment_id","service")
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"stack_name" text NOT NULL,
	"stack_slug" text NOT NULL,
	"workflow_id" text NOT NULL,
	"run_id" text,
	"status" text NOT NULL,
	"strategy" text NOT NULL,
	"spec" jsonb NOT NULL,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"placement" jsonb,
	"failure" jsonb,
	"compensation" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"name" text PRIMARY KEY NOT NULL,
	"docker" jsonb NOT NULL,
	"address" text NOT NULL,
	"datacenter" text DEFAULT 'default' NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"image_pull" text DEFAULT 'missing' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deployment_containers" ADD CONSTRAINT "deployment_containers_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deployments_stack_slug_idx" ON "deployments" USING btree ("stack_slug","created_at");