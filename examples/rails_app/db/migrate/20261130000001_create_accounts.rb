# frozen_string_literal: true

class CreateAccounts < ActiveRecord::Migration[6.1]
  def change
    create_table :accounts do |t|
      t.string :email, null: false, index: { unique: true }
      t.string :status, null: false, default: "new"
      t.string :workspace_slug
      t.datetime :welcomed_at
      t.timestamps
    end

    create_table :signups do |t|
      t.string :email, null: false
      t.string :plan, null: false, default: "free"
      t.bigint :task_request_id
      t.timestamps
    end
  end
end
